"""Expressions in video: decode frames (PyAV), detect and classify faces, follow them with a tracker,
smooth each face's probabilities over time, summarise, and draw an annotated video that browsers play.

Modules, one job each: `limits` (size/length/pixel limits), `decode` (PyAV frames), `track` (ByteTrack ids),
`smooth` (per-track moving average), `analyser` (one frame -> tracked, smoothed faces), `records` (the
per-frame table, CSV), `summarise` (share of time and segments per face), `annotate` (drawing and the
H.264/VP9 writer), `pipeline` (a whole file), `live` (camera frames), `synthetic` (videos made from still
faces, for tests and benchmarks). Importing this package is light; import the modules you need.
"""
