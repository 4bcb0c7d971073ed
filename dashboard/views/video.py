"""Video: upload a video, watch it annotated, read each face's expressions over time; or use the live camera.

Uploads are checked on the server (size, then length and frame size before any decoding); a video that stops
decoding part-way shows what was found before the bad spot. Public mode (`app_mode() == 'public'`) has tighter
limits and camera snapshots instead of a live stream (each stream keeps a CPU busy). Everything runs the shipped
model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard.components import cached
from dashboard.components.auth import app_mode
from dashboard.components.engine import show_error
from dashboard.components.runs import has_checkpoint, path_mtime
from dashboard.components.settings import default_run_dir, uploads_dir
from dashboard.components.uploads import sanitize_filename, save_upload
from fer_engine.errors import FerError
from fer_engine.predict.annotate import LABEL_COLOURS
from fer_engine.predict.detectors import DEFAULT_DETECTOR
from fer_engine.predict.image_io import read_rgb
from fer_engine.runs.layout import RunPaths
from fer_engine.video.limits import VideoLimits
from fer_engine.video.live import LiveAnnotator
from fer_engine.video.pipeline import VideoAnalysis, analyse_video
from fer_engine.video.records import records_csv
from fer_engine.video.smooth import DEFAULT_TIME_CONSTANT

# (Comments, not docstrings: Streamlit's "magic" would print a bare string literal on the page.)
VIDEO_TYPES = ["mp4", "webm", "mov", "m4v", "mkv", "avi"]
LIMITS = {  # per mode: a browser upload costs this server CPU time in proportion to length x pixels
    "full": VideoLimits(max_mb=100, max_seconds=120, max_pixels=1920 * 1080),
    "public": VideoLimits(max_mb=25, max_seconds=30, max_pixels=1280 * 720),
}
DEFAULT_EVERY = 2  # analyse every 2nd frame: 12-15 analysed frames per second of a 25-30 fps video
RESULT_KEY = "video-analysis"
LIVE_KEY = "video-live-annotator"

st.title("Video")
st.caption(
    "Upload a video: every face is followed with a track number, its expression smoothed over time, "
    "and shown as a timeline and a share of time per expression. Or turn on the camera."
)

mode = app_mode()
limits = LIMITS[mode]
shipped = RunPaths(default_run_dir())
if not has_checkpoint(shipped):
    st.info("No model yet: the shipped model is not installed on this server.")
    st.stop()


def load_predictor():
    with st.spinner("Loading the model..."):
        return cached.load_predictor(
            str(shipped.root), "softmax", DEFAULT_DETECTOR, "none", path_mtime(shipped.weights_file)
        )


def run_analysis(uploaded, every: int, smoothing: float) -> None:
    """Save the upload (size checked), analyse it with a progress bar, keep the result in the session."""
    try:
        name = sanitize_filename(uploaded.name, allowed_suffixes=VIDEO_TYPES)
        path = save_upload(uploaded, uploads_dir("videos"), allowed_suffixes=VIDEO_TYPES, max_mb=limits.max_mb)
        predictor = load_predictor()
        bar = st.progress(0.0, text=f"Analysing {name}...")

        def show_progress(done: float) -> None:
            bar.progress(done, text=f"Analysing {name}: {done:.0%}")

        analysis = analyse_video(
            path,
            predictor,
            every=every,
            limits=limits,
            time_constant=smoothing,
            name=name,
            annotate_to=path.with_name(f"{path.stem}-annotated.mp4"),
            on_progress=show_progress,
        )
        bar.empty()
    except FerError as exc:
        st.session_state.pop(RESULT_KEY, None)
        show_error(exc)
        return
    st.session_state[RESULT_KEY] = (upload_id(uploaded), analysis)


def upload_id(uploaded) -> str:
    """Identifies one upload, so results are shown only beside the file they belong to."""
    return str(getattr(uploaded, "file_id", None) or uploaded.name)


def summary_table(analysis: VideoAnalysis) -> list[dict]:
    """One row per face: when it was seen and its share of time in each expression (percent)."""
    return [
        {
            "face": f"#{track.track_id}",
            "from (s)": round(track.first_time, 2),
            "to (s)": round(track.last_time, 2),
            "frames": track.frames,
            "main expression": track.dominant,
            **{name: round(100 * track.share[name], 1) for name in analysis.class_names},
        }
        for track in analysis.tracks
    ]


def timeline_figure(analysis: VideoAnalysis, track_id: int) -> go.Figure:
    """Smoothed probability of each expression over time for one face."""
    rows = [record for record in analysis.records if record.track_id == track_id]
    times = [record.time for record in rows]
    figure = go.Figure()
    for name in analysis.class_names:
        colour = "rgb({},{},{})".format(*LABEL_COLOURS.get(name, (0, 0, 0)))
        figure.add_trace(
            go.Scatter(
                x=times,
                y=[record.probabilities[name] for record in rows],
                name=name,
                mode="lines",
                line={"color": colour},
            )
        )
    figure.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title=f"Face #{track_id}",
        xaxis_title="time (s)",
        yaxis_title="probability",
        yaxis_range=[0, 1],
    )
    return figure


def show_results(analysis: VideoAnalysis) -> None:
    info = analysis.info
    st.subheader(info.name)
    if analysis.error:
        st.warning(f"Stopped early: {analysis.error}. The results below cover the frames before that point.")
    length = f"{info.duration:.1f} s" if info.duration is not None else "unknown length"
    st.caption(
        f"{info.width}x{info.height}, {info.fps:.2f} fps, {length}; {analysis.frames_analysed} of "
        f"{analysis.frames_decoded} frames analysed in {analysis.seconds:.1f} s; "
        f"{len(analysis.tracks)} face track(s)."
    )
    if analysis.annotated is not None and analysis.annotated.is_file():
        st.video(analysis.annotated.read_bytes(), format="video/mp4")
    if not analysis.tracks:
        st.info("No face was followed in this video (a face must be seen in two analysed frames to get a track).")
    else:
        st.markdown("**Share of time in each expression (%)**")
        st.dataframe(summary_table(analysis), hide_index=True, key="video-summary")
        for track in analysis.tracks:
            st.plotly_chart(timeline_figure(analysis, track.track_id), key=f"video-timeline-{track.track_id}")
    stem = Path(info.name).stem or "video"
    left, right = st.columns(2)
    left.download_button(
        "Download the table (CSV)",
        records_csv(analysis.records, analysis.class_names),
        file_name=f"{stem}-faces.csv",
        mime="text/csv",
        key="video-download-csv",
    )
    right.download_button(
        "Download everything (JSON)",
        json.dumps(analysis.to_json(), indent=1),
        file_name=f"{stem}-faces.json",
        mime="application/json",
        key="video-download-json",
    )


def live_annotator() -> LiveAnnotator:
    """This session's live annotator (its tracks and smoothing persist across reruns)."""
    if LIVE_KEY not in st.session_state:
        st.session_state[LIVE_KEY] = LiveAnnotator(load_predictor())
    return st.session_state[LIVE_KEY]


def webrtc_module():
    """streamlit_webrtc when it is installed and a Streamlit server runs this page (it needs the server's
    session manager); None otherwise."""
    from streamlit import runtime

    try:
        import streamlit_webrtc
    except ImportError:
        return None
    server = runtime.get_instance() if runtime.exists() else None
    return streamlit_webrtc if getattr(server, "_session_mgr", None) is not None else None  # AppTest's mock has none


def show_camera() -> None:
    """A live stream (streamlit-webrtc) in full mode; snapshots where WebRTC is unavailable or in public mode."""
    webrtc = webrtc_module() if mode == "full" else None
    if mode == "public":
        st.caption("Camera snapshots: each one is analysed on its own (the live stream is off on public servers).")
    elif webrtc is None:
        st.caption(
            "The live stream needs the streamlit-webrtc package and a Streamlit server: taking snapshots instead."
        )
    elif not st.toggle("snapshots instead of a stream", key="video-snapshots"):
        annotator = live_annotator()

        def annotate_frame(frame):
            import av

            return av.VideoFrame.from_ndarray(annotator.process(frame.to_ndarray(format="rgb24")).rgb, format="rgb24")

        st.caption(
            "Boxes, track numbers and smoothed labels are drawn on each frame, with the frame rate and the delay."
        )
        webrtc.webrtc_streamer(
            key="video-live",
            mode=webrtc.WebRtcMode.SENDRECV,
            video_frame_callback=annotate_frame,
            rtc_configuration={"iceServers": []},
            media_stream_constraints={"video": True, "audio": False},
        )
        return
    shot = st.camera_input("Take a snapshot", key="video-snapshot")
    if shot is not None:
        try:
            rgb = read_rgb(shot.getvalue())
            result = live_annotator().process(np.asarray(rgb))
        except FerError as exc:
            show_error(exc, "The snapshot")
            return
        st.image(result.rgb, caption=f"{len(result.faces)} face(s), {result.latency_ms:.0f} ms")


upload_tab, camera_tab = st.tabs(["Video file", "Camera"])
with upload_tab:
    uploaded = st.file_uploader(
        f"Video ({', '.join(VIDEO_TYPES)}; up to {limits.max_mb:g} MB, {limits.max_seconds:g} s, "
        f"{limits.max_pixels / 1e6:.1f} megapixels per frame)",
        type=VIDEO_TYPES,
        max_upload_size=int(limits.max_mb),
        key="video-upload",
    )
    every = int(
        st.number_input("Analyse every Nth frame", min_value=1, max_value=30, value=DEFAULT_EVERY, key="video-every")
    )
    smoothing = float(
        st.slider(
            "Smoothing time constant (s)",
            0.0,
            2.0,
            DEFAULT_TIME_CONSTANT,
            0.1,
            key="video-smooth",
            help="each face's probabilities are averaged over about this much time; 0 = raw",
        )
    )
    if uploaded is not None and st.button("Analyse", type="primary", key="video-run"):
        run_analysis(uploaded, every, smoothing)
    if uploaded is None:
        st.info("Upload a video with one or more faces to start.")
    elif st.session_state.get(RESULT_KEY, (None,))[0] == upload_id(uploaded):
        show_results(st.session_state[RESULT_KEY][1])
with camera_tab:
    if st.toggle("use the camera", value=False, key="video-camera-on"):
        show_camera()
