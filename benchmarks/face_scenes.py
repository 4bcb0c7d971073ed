"""Real-photo test scenes with known face boxes, for the detector comparison and the speed benchmark.

Faces come from scikit-image's bundled real photos: `astronaut()` (Eileen Collins, colour) and the
first 100 images of `lfw_subset()` (Labeled Faces in the Wild, 25x25 grey, tightly cropped, some with
glasses), and, when FER2013_PATH is set, FER2013 crops. Scenes are built by affine transforms (rotate,
scale, mirror, squeeze), occluders and compositing onto real face-free textures; the face boxes follow.

Issue 14 added portraits and face-free photos users upload, all installed with a package or drawn here
(nothing is downloaded): `package_face_photos()` (matplotlib's Grace Hopper, public domain; scikit-image's
cameraman) and `faceless_scenes()` (scikit-image's cat, alone and pasted 4-6 times; flags and patterns
drawn with OpenCV; scikit-learn's china.jpg and flower.jpg, CC-BY; scikit-image's motorcycle; matplotlib's
gift box; layouts of LFW's 100 non-face patches). Faces on screens or posters count as faces.
"""

from __future__ import annotations

import io
import os
import random
import zipfile
from dataclasses import dataclass, field

import cv2
import numpy as np
import skimage.data

Box = tuple[float, float, float, float]

# Face of astronaut(): eyebrows-to-chin, ear to ear, read off the 512x512 photo by eye (the four detectors
# agree with it at IoU >= 0.6). Eye centres from BlazeFace keypoints on the same photo.
ASTRONAUT_FACE: Box = (172.0, 64.0, 104.0, 116.0)
ASTRONAUT_EYES = ((201.0, 105.0), (246.0, 109.0))


@dataclass
class Scene:
    """An RGB image, its true face boxes (x, y, w, h), and a tag naming the case it tests."""

    name: str
    case: str
    image: np.ndarray
    faces: list[Box] = field(default_factory=list)


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], fill=(128, 128, 128)) -> np.ndarray:
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_AREA if abs(np.linalg.det(matrix[:, :2])) < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def _warp_box(box: Box, matrix: np.ndarray) -> Box:
    """The face box after an affine warp: same centre as the warped corners, sides scaled (not rotation-bloated)."""
    x, y, w, h = box
    corners = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], dtype=np.float64)
    moved = corners @ matrix.T
    x0, y0 = moved.min(axis=0)
    x1, y1 = moved.max(axis=0)
    # A rotated face is not bigger than the face: scale the sides, keep the warped centre.
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    scale_x = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    scale_y = float(np.hypot(matrix[0, 1], matrix[1, 1]))
    return (cx - w * scale_x / 2, cy - h * scale_y / 2, w * scale_x, h * scale_y)


def background(width: int, height: int, seed: int) -> np.ndarray:
    """A real face-free texture (brick, grass, gravel, coffee, rocket) resized to fill width x height."""
    sources = [skimage.data.brick(), skimage.data.grass(), skimage.data.gravel(), skimage.data.coffee(), skimage.data.rocket()]
    source = sources[seed % len(sources)]
    if source.ndim == 2:
        source = np.stack([source] * 3, axis=-1)
    return cv2.resize(source, (width, height), interpolation=cv2.INTER_LINEAR)


def astronaut_variants(canvas: tuple[int, int] = (640, 480)) -> list[Scene]:
    """The astronaut photo placed on a grey canvas: as is, mirrored, rotated, small, dark, squeezed, occluded."""
    photo = skimage.data.astronaut()
    width, height = canvas
    scenes = []
    center = (ASTRONAUT_FACE[0] + ASTRONAUT_FACE[2] / 2, ASTRONAUT_FACE[1] + ASTRONAUT_FACE[3] / 2)

    def place(name: str, case: str, angle: float = 0.0, face_width: float = 104.0, mirror: bool = False,
              squeeze: float = 1.0, source: np.ndarray | None = None) -> Scene:
        image = photo if source is None else source
        scale = face_width / ASTRONAUT_FACE[2]
        matrix = cv2.getRotationMatrix2D(center, angle, scale)
        matrix[0, 2] += width / 2 - center[0]
        matrix[1, 2] += height / 2 - center[1]
        if squeeze != 1.0:  # narrower face about the canvas centre: a crude stand-in for a turned head
            squeeze_matrix = np.array([[squeeze, 0, width / 2 * (1 - squeeze)], [0, 1, 0], [0, 0, 1]])
            matrix = (squeeze_matrix @ np.vstack([matrix, [0, 0, 1]]))[:2]
        if mirror:
            flip = np.array([[-1, 0, width - 1], [0, 1, 0], [0, 0, 1]])
            matrix = (flip @ np.vstack([matrix, [0, 0, 1]]))[:2]
        box = _warp_box(ASTRONAUT_FACE, matrix)
        return Scene(name, case, _warp(image, matrix, canvas), [box])

    scenes.append(place("astronaut", "frontal"))
    scenes.append(place("astronaut_mirror", "mirror", mirror=True))
    for angle in (-40, -20, 20, 40):
        scenes.append(place(f"astronaut_rot{angle:+d}", "rotated", angle=angle))
    for face_width in (64, 40, 28):
        scenes.append(place(f"astronaut_small{face_width}", "small", face_width=face_width))
    for squeeze in (0.75, 0.55):
        scenes.append(place(f"astronaut_squeeze{squeeze}", "turned (squeezed)", squeeze=squeeze))
    dark = np.clip((photo.astype(np.float32) / 255.0) ** 2.2 * 255 * 0.6, 0, 255).astype(np.uint8)
    scenes.append(place("astronaut_dark", "dark", source=dark))
    glasses = photo.copy()
    for ex, ey in ASTRONAUT_EYES:
        cv2.ellipse(glasses, (int(ex), int(ey)), (17, 11), 0, 0, 360, (20, 20, 25), -1)
    cv2.line(glasses, (int(ASTRONAUT_EYES[0][0]) + 17, 106), (int(ASTRONAUT_EYES[1][0]) - 17, 108), (20, 20, 25), 3)
    scenes.append(place("astronaut_sunglasses", "glasses", source=glasses))
    masked = photo.copy()
    cv2.rectangle(masked, (185, 135), (265, 185), (230, 230, 235), -1)
    scenes.append(place("astronaut_mask", "lower face covered", source=masked))
    return scenes


def lfw_faces() -> np.ndarray:
    """The 100 real faces of skimage's LFW subset as (100, 25, 25) uint8."""
    return (skimage.data.lfw_subset()[:100] * 255).round().astype(np.uint8)


def pad_face(face: np.ndarray, margin: float = 0.3) -> np.ndarray:
    """A tight face crop padded on every side by `margin` of its size (border replicated), as RGB."""
    face_rgb = np.stack([face] * 3, axis=-1) if face.ndim == 2 else face
    pad = int(round(face_rgb.shape[0] * margin))
    return cv2.copyMakeBorder(face_rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def group_scene(name: str, patches: list[tuple[np.ndarray, float]], size: tuple[int, int], sizes: tuple[int, int],
                seed: int) -> Scene:
    """Square face patches pasted without overlap at random places and face sizes onto a real texture.

    Each patch comes with the fraction of its side that the face box takes (centred), so the true box follows.
    """
    rng = random.Random(seed)
    width, height = size
    canvas = background(width, height, seed).copy()
    occupied: list[Box] = []
    faces: list[Box] = []
    for patch_image, face_fraction in patches:
        for _ in range(500):
            face_side = rng.randint(*sizes)
            patch = int(round(face_side / face_fraction))
            x, y = rng.randint(0, width - patch), rng.randint(0, height - patch)
            if all(x + patch < ox - 8 or ox + ow < x - 8 or y + patch < oy - 8 or oy + oh < y - 8 for ox, oy, ow, oh in occupied):
                break
        else:
            continue
        source = np.stack([patch_image] * 3, axis=-1) if patch_image.ndim == 2 else patch_image
        interpolation = cv2.INTER_AREA if patch < source.shape[0] else cv2.INTER_CUBIC
        canvas[y : y + patch, x : x + patch] = cv2.resize(source, (patch, patch), interpolation=interpolation)
        occupied.append((x, y, patch, patch))
        offset = (patch - face_side) / 2
        faces.append((x + offset, y + offset, float(face_side), float(face_side)))
    return Scene(name, "group", canvas, faces)


def astronaut_face_patch() -> tuple[np.ndarray, float]:
    """The astronaut's face with its own surroundings as a square patch, and the face's share of its side."""
    x, y, w, h = ASTRONAUT_FACE
    side = int(max(w, h) * 1.6)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(cx - side / 2), int(cy - side / 2)
    return skimage.data.astronaut()[y0 : y0 + side, x0 : x0 + side], w / side


def group_scenes(count: int = 4, size: tuple[int, int] = (1920, 1080), faces_per_scene: int = 10,
                 face_sizes: tuple[int, int] = (60, 180)) -> list[Scene]:
    """Group shots of ten real faces each (eight LFW people, some mirrored, and the astronaut twice)."""
    lfw = lfw_faces()
    astronaut, astronaut_fraction = astronaut_face_patch()
    scenes = []
    for index in range(count):
        rng = np.random.default_rng(index)
        chosen = [lfw[i] for i in rng.choice(len(lfw), faces_per_scene - 2, replace=False)]
        patches = [(pad_face(np.fliplr(f) if rng.random() < 0.5 else f), 1 / 1.6) for f in chosen]
        patches += [(astronaut, astronaut_fraction), (np.ascontiguousarray(np.fliplr(astronaut)), astronaut_fraction)]
        scenes.append(group_scene(f"group_{size[0]}x{size[1]}_{index}", patches, size, face_sizes, seed=index))
    return scenes


def negative_scenes() -> list[Scene]:
    """Real face-free photos and textures (a cat, coffee, a rocket, coins, text, micrographs...)."""
    names = ["coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "colorwheel", "brick", "grass",
             "gravel", "retina", "coins", "page", "text", "clock", "horse", "logo", "moon", "cell", "chessboard"]
    scenes = []
    for name in names:
        try:
            image = getattr(skimage.data, name)()
        except Exception:  # an image that needs a download in this skimage install
            continue
        image = np.asarray(image)
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        if image.shape[2] == 4:
            image = image[:, :, :3]
        scenes.append(Scene(name, "no face", np.ascontiguousarray(image.astype(np.uint8)), []))
    return scenes


def read_fer_images(path: str | os.PathLike, count: int, seed: int = 0, prefix: str = "test/") -> list[np.ndarray]:
    """`count` FER2013 48x48 grey images drawn from a dataset zip or folder (PublicTest by default)."""
    path = os.fspath(path)
    rng = random.Random(seed)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if n.startswith(prefix) and n.lower().endswith((".jpg", ".png")))
            chosen = rng.sample(names, min(count, len(names)))
            return [cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_GRAYSCALE) for n in chosen]
    root = os.path.join(path, prefix.strip("/"))
    names = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.lower().endswith((".jpg", ".png")))
    chosen = rng.sample(names, min(count, len(names)))
    return [cv2.imread(n, cv2.IMREAD_GRAYSCALE) for n in chosen]


def fer_group_scenes(fer_path: str, count: int = 3, size: tuple[int, int] = (1920, 1080)) -> list[Scene]:
    """Group shots of ten FER2013 crops each, upscaled to 96-192 px on real textures (box = whole crop)."""
    images = read_fer_images(fer_path, count * 10, seed=7)
    return [group_scene(f"group_fer_{i}", [(im, 1.0) for im in images[i * 10 : (i + 1) * 10]], size, (96, 192), seed=20 + i)
            for i in range(count)]


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    """JPEG bytes of an RGB image (scenes are handed to the predictor as a user's file would be)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return io.BytesIO(data.tobytes()).getvalue()


# ---- Photos that ship inside installed packages, and face-free scenes users upload (issue 14) ----------------
# Face boxes read off each photo by eye and checked against BlazeFace's box (docs/detectors.md).
_MPL_SAMPLES = "mpl-data/sample_data"


def _matplotlib_sample(name: str) -> np.ndarray:
    """An RGB image from matplotlib's bundled sample data (ships in the matplotlib wheel)."""
    import matplotlib
    from PIL import Image

    path = os.path.join(os.path.dirname(matplotlib.__file__), _MPL_SAMPLES, name)
    return np.asarray(Image.open(path).convert("RGB"))


def _sklearn_sample(name: str) -> np.ndarray:
    """china.jpg / flower.jpg from scikit-learn's bundled sample images (CC-BY, ship in the wheel)."""
    import sklearn.datasets
    from PIL import Image

    path = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images", name)
    return np.asarray(Image.open(path).convert("RGB"))


def package_face_photos() -> list[Scene]:
    """Real portraits that ship in packages: Grace Hopper (matplotlib; US Navy photo, public domain, a US flag
    behind her) and the cameraman (scikit-image `camera()`, a small face in profile-ish view)."""
    return [
        Scene("grace_hopper", "portrait (package photos)", _matplotlib_sample("grace_hopper.jpg"), [(172.0, 145.0, 196.0, 195.0)]),
        Scene("cameraman", "portrait (package photos)", np.stack([skimage.data.camera()] * 3, axis=-1), [(189.0, 127.0, 65.0, 65.0)]),
    ]


def draw_flag(kind: str, size: tuple[int, int] = (900, 600)) -> np.ndarray:
    """A flag drawn with OpenCV: stars and stripes, a cross, a disc, a tricolour, or a chequered flag."""
    width, height = size
    image = np.full((height, width, 3), 255, np.uint8)
    if kind == "stars_and_stripes":
        for row in range(13):
            if row % 2 == 0:
                image[row * height // 13 : (row + 1) * height // 13] = (178, 34, 52)
        canton = (int(width * 0.4), 7 * height // 13)
        image[: canton[1], : canton[0]] = (60, 59, 110)
        for row in range(9):
            for col in range(11 if row % 2 == 0 else 10):
                x = int((col + (1.0 if row % 2 == 0 else 1.5)) * canton[0] / 12.5)
                y = int((row + 1) * canton[1] / 10)
                cv2.drawMarker(image, (x, y), (255, 255, 255), cv2.MARKER_STAR, 14, 3)
    elif kind == "cross":
        image[:] = (0, 82, 147)
        cv2.rectangle(image, (width // 3 - 40, 0), (width // 3 + 40, height), (254, 203, 0), -1)
        cv2.rectangle(image, (0, height // 2 - 40), (width, height // 2 + 40), (254, 203, 0), -1)
    elif kind == "disc":
        cv2.circle(image, (width // 2, height // 2), height * 3 // 10, (188, 0, 45), -1)
    elif kind == "tricolour":
        for index, colour in enumerate([(0, 85, 164), (255, 255, 255), (239, 65, 53)]):
            image[:, index * width // 3 : (index + 1) * width // 3] = colour
    elif kind == "chequered":
        cell = 60
        for row in range(height // cell + 1):
            for col in range(width // cell + 1):
                if (row + col) % 2 == 0:
                    image[row * cell : (row + 1) * cell, col * cell : (col + 1) * cell] = 0
    else:
        raise ValueError(f"unknown flag '{kind}'")
    return image


def draw_pattern(kind: str, size: tuple[int, int] = (800, 600), seed: int = 0) -> np.ndarray:
    """Patterned backgrounds: polka dots (pairs of dark dots read like eyes), stripes, a waving flag's folds."""
    width, height = size
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 235, np.uint8)
    if kind == "polka_dots":
        for y in range(30, height, 70):
            for x in range(30 + (35 if (y // 70) % 2 else 0), width, 70):
                cv2.circle(image, (x, y), 14, (40, 40, 60), -1)
    elif kind == "stripes":
        for x in range(0, width, 40):
            cv2.rectangle(image, (x, 0), (x + 19, height), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    elif kind == "waving_flag":
        flag = draw_flag("stars_and_stripes", size)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        map_y = ys + 18 * np.sin(xs / 55.0)
        shade = (0.75 + 0.25 * np.sin(xs / 55.0 + 1.2))[..., None]
        image = (cv2.remap(flag, xs, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT) * shade).astype(np.uint8)
    elif kind == "noise":
        image = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3)).astype(np.uint8), (7, 7), 0)
    else:
        raise ValueError(f"unknown pattern '{kind}'")
    return image


def animal_scenes(count: int = 3, size: tuple[int, int] = (1280, 853)) -> list[Scene]:
    """The cat `chelsea()` (its face fills the photo) as is, and 4-6 cat faces pasted on real textures
    at 80-260 px, some mirrored: the "photo of four dogs" case, with the only animal photos that ship
    offline (scikit-image's cat; its horse silhouette is in negative_scenes; no dog photo ships in any
    installed package)."""
    cat = skimage.data.chelsea()
    side = min(cat.shape[:2])
    square = cat[:side, (cat.shape[1] - side) // 2 : (cat.shape[1] - side) // 2 + side]
    scenes = [Scene("chelsea_cat", "animals", cat, [])]
    for index in range(count):
        rng = np.random.default_rng(100 + index)
        patches = [(np.ascontiguousarray(np.fliplr(square)) if rng.random() < 0.5 else square, 1.0)
                   for _ in range(4 + index)]
        scene = group_scene(f"cats_{index}", patches, size, (80, 260), seed=100 + index)
        scenes.append(Scene(scene.name, "animals", scene.image, []))
    return scenes


def lfw_nonface_scenes(count: int = 2, size: tuple[int, int] = (1920, 1080)) -> list[Scene]:
    """Group-shot layouts of the 100 non-face patches of `lfw_subset()` (images 100-199): face-sized clutter."""
    patches = (skimage.data.lfw_subset()[100:] * 255).round().astype(np.uint8)
    scenes = []
    for index in range(count):
        rng = np.random.default_rng(200 + index)
        chosen = [(pad_face(patches[i]), 1 / 1.6) for i in rng.choice(len(patches), 12, replace=False)]
        scene = group_scene(f"lfw_nonfaces_{index}", chosen, size, (60, 180), seed=200 + index)
        scenes.append(Scene(scene.name, "face-sized clutter", scene.image, []))
    return scenes


def faceless_scenes() -> list[Scene]:
    """Face-free photos users upload, by kind. Faces on screens or posters are *faces* here (a detector
    cannot tell a printed face from a live one, and a user who uploads a poster wants it read), so none
    of these contain any; cartoons and emoji are left out as ambiguous."""
    scenes = animal_scenes()
    for kind in ("stars_and_stripes", "cross", "disc", "tricolour", "chequered"):
        scenes.append(Scene(f"flag_{kind}", "flags", draw_flag(kind), []))
    for kind in ("polka_dots", "stripes", "waving_flag", "noise"):
        scenes.append(Scene(f"pattern_{kind}", "patterns and textures", draw_pattern(kind), []))
    scenes.append(Scene("china", "places and things (package photos)", _sklearn_sample("china.jpg"), []))
    scenes.append(Scene("flower", "places and things (package photos)", _sklearn_sample("flower.jpg"), []))
    scenes.append(Scene("motorcycle", "places and things (package photos)", skimage.data.stereo_motorcycle()[0], []))
    scenes.append(Scene("gift_pack", "places and things (package photos)", _matplotlib_sample("Minduka_Present_Blue_Pack.png"), []))
    scenes += lfw_nonface_scenes()
    return scenes
