"""Image + normalized boxes -> a GLB with one textured object per box.

Layout (glTF: metres, Y up, +Z toward the camera): the photo spans ``SCENE_WIDTH_M`` along X and,
at the same scale, its height maps to depth along Z. Each box becomes an upright slab standing on
the floor (y = 0): as wide and tall as the box (same scale), centred at the box's horizontal centre,
placed in depth by the box's bottom edge (lower in the photo = nearer the camera), with a thickness
of ``DEPTH_RATIO`` of its smaller side. The slab's front and back show the box's crop; its sides,
top and bottom show the crop's matching edge strip.
"""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image, ImageDraw

SCENE_WIDTH_M = 4.0
DEPTH_RATIO = 0.3
MAX_TEXTURE_PX = 512
MAX_PREVIEW_PX = 640
EDGE_UV = 0.02

# Quads as (corner signs, uvs); corners wind counter-clockwise seen from outside.
_QUADS = [
    ([(-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)], [(0, 0), (1, 0), (1, 1), (0, 1)]),  # front +Z
    ([(1, -1, -1), (-1, -1, -1), (-1, 1, -1), (1, 1, -1)], [(0, 0), (1, 0), (1, 1), (0, 1)]),  # back -Z
    ([(1, -1, 1), (1, -1, -1), (1, 1, -1), (1, 1, 1)], [(1 - EDGE_UV, 0), (1, 0), (1, 1), (1 - EDGE_UV, 1)]),  # +X
    ([(-1, -1, -1), (-1, -1, 1), (-1, 1, 1), (-1, 1, -1)], [(0, 0), (EDGE_UV, 0), (EDGE_UV, 1), (0, 1)]),  # -X
    ([(-1, 1, 1), (1, 1, 1), (1, 1, -1), (-1, 1, -1)], [(0, 1 - EDGE_UV), (1, 1 - EDGE_UV), (1, 1), (0, 1)]),  # +Y
    ([(-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1)], [(0, 0), (1, 0), (1, EDGE_UV), (0, EDGE_UV)]),  # -Y
]


def pixel_box(box: dict, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` pixels of a normalized box, at least one pixel each way."""
    width, height = size
    left = min(int(round(box["x"] * width)), width - 1)
    top = min(int(round(box["y"] * height)), height - 1)
    right = max(left + 1, min(width, int(round((box["x"] + box["width"]) * width))))
    bottom = max(top + 1, min(height, int(round((box["y"] + box["height"]) * height))))
    return left, top, right, bottom


def crop_boxes(image: Image.Image, boxes: list[dict]) -> list[Image.Image]:
    """One RGB crop per box, downscaled to at most ``MAX_TEXTURE_PX`` a side."""
    crops = []
    for box in boxes:
        crop = image.crop(pixel_box(box, image.size)).convert("RGB")
        crop.thumbnail((MAX_TEXTURE_PX, MAX_TEXTURE_PX))
        crops.append(crop)
    return crops


def textured_slab(width: float, height: float, depth: float, texture: Image.Image) -> trimesh.Trimesh:
    """A box centred at the origin, UV-mapped as described in the module docstring."""
    half = np.array([width, height, depth]) / 2
    vertices = np.array([np.multiply(corner, half) for corners, _ in _QUADS for corner in corners], dtype=float)
    uv = np.array([uv for _, uvs in _QUADS for uv in uvs], dtype=float)
    faces = np.array([[q, q + 1, q + 2] for q in range(0, 24, 4)] + [[q, q + 2, q + 3] for q in range(0, 24, 4)])
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=texture, metallicFactor=0.0, roughnessFactor=0.9)
    visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    return trimesh.Trimesh(vertices=vertices, faces=faces, visual=visual, process=False)


def box_placement(box: dict, image_size: tuple[int, int]) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The slab's 4x4 transform and its (width, height, depth) in metres."""
    scale = SCENE_WIDTH_M / image_size[0]  # metres per pixel
    width_m = max(box["width"] * image_size[0] * scale, 1e-3)
    height_m = max(box["height"] * image_size[1] * scale, 1e-3)
    depth_m = DEPTH_RATIO * min(width_m, height_m)
    photo_depth_m = image_size[1] * scale
    x = (box["x"] + box["width"] / 2 - 0.5) * SCENE_WIDTH_M
    z = (box["y"] + box["height"] - 0.5) * photo_depth_m
    transform = trimesh.transformations.translation_matrix([x, height_m / 2, z])
    return transform, (width_m, height_m, depth_m)


def build_scene_glb(image: Image.Image, boxes: list[dict]) -> bytes:
    """The GLB bytes of one textured slab per box (nodes ``object_0``, ``object_1``, ...)."""
    scene = trimesh.Scene()
    for index, (box, crop) in enumerate(zip(boxes, crop_boxes(image, boxes), strict=True)):
        transform, (w, h, d) = box_placement(box, image.size)
        name = f"object_{index}"
        scene.add_geometry(textured_slab(w, h, d, crop), node_name=name, geom_name=name, transform=transform)
    return scene.export(file_type="glb")


def preview_png(image: Image.Image, boxes: list[dict]) -> bytes:
    """The photo, downscaled, with the boxes outlined: the scene's preview image."""
    preview = image.convert("RGB")
    preview.thumbnail((MAX_PREVIEW_PX, MAX_PREVIEW_PX))
    draw = ImageDraw.Draw(preview)
    line = max(2, preview.size[0] // 200)
    for box in boxes:
        left, top, right, bottom = pixel_box(box, preview.size)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=(255, 64, 32), width=line)
    out = io.BytesIO()
    preview.save(out, format="PNG")
    return out.getvalue()
