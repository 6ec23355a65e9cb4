"""Albumentations 1.x names a recipe copied from an old tutorial may use, and what 2.0.8 calls them.

Used by the unknown-transform and unknown-parameter messages, so the error names the successor
instead of only the closest spelling. Each entry is checked against the catalogue by a test.
"""

from __future__ import annotations

# Removed or renamed transforms -> (successor, how the old parameters map onto it).
TRANSFORMS: dict[str, tuple[str, str]] = {
    "Cutout": ("CoarseDropout", "num_holes_range, hole_height_range, hole_width_range, fill"),
    "JpegCompression": ("ImageCompression", "quality_range: [quality_lower, quality_upper]"),
    "Flip": ("SquareSymmetry", "or HorizontalFlip and VerticalFlip, each with its own p"),
    "RandomBrightness": ("RandomBrightnessContrast", "brightness_limit, with contrast_limit: 0"),
    "RandomContrast": ("RandomBrightnessContrast", "contrast_limit, with brightness_limit: 0"),
    "IAAAffine": ("Affine", "the same parameters, with fill for cval"),
    "IAAPerspective": ("Perspective", "scale"),
    "IAAPiecewiseAffine": ("PiecewiseAffine", "scale, nb_rows, nb_cols"),
    "IAAAdditiveGaussianNoise": ("GaussNoise", "std_range, as fractions of 255"),
    "IAASharpen": ("Sharpen", "alpha, lightness"),
    "IAAEmboss": ("Emboss", "alpha, strength"),
    "IAASuperpixels": ("Superpixels", "p_replace, n_segments"),
    "IAACropAndPad": ("CropAndPad", "px or percent"),
    "IAAFliplr": ("HorizontalFlip", "p"),
    "IAAFlipud": ("VerticalFlip", "p"),
}

# Renamed parameters -> (the 2.0.8 parameter, how to write the old value(s) in it).
PARAMETERS: dict[str, tuple[str, str]] = {
    "always_apply": ("p", "p: 1 applies a step every time"),
    "value": ("fill", "fill: the border/hole value"),
    "cval": ("fill", "fill: the border value"),
    "pad_val": ("fill", "fill: the border value"),
    "pad_cval": ("fill", "fill: the border value"),
    "fill_value": ("fill", "fill: the hole value"),
    "mask_value": ("fill_mask", "fill_mask: the mask's border value"),
    "mask_pad_val": ("fill_mask", "fill_mask: the mask's border value"),
    "pad_cval_mask": ("fill_mask", "fill_mask: the mask's border value"),
    "cval_mask": ("fill_mask", "fill_mask: the mask's border value"),
    "mask_fill_value": ("fill_mask", "fill_mask: the mask's hole value"),
    "max_holes": ("num_holes_range", "num_holes_range: [min_holes, max_holes]"),
    "min_holes": ("num_holes_range", "num_holes_range: [min_holes, max_holes]"),
    "max_height": ("hole_height_range", "hole_height_range: [min_height, max_height]"),
    "min_height": ("hole_height_range", "hole_height_range: [min_height, max_height]"),
    "max_width": ("hole_width_range", "hole_width_range: [min_width, max_width]"),
    "min_width": ("hole_width_range", "hole_width_range: [min_width, max_width]"),
    "quality_lower": ("quality_range", "quality_range: [quality_lower, quality_upper]"),
    "quality_upper": ("quality_range", "quality_range: [quality_lower, quality_upper]"),
    "var_limit": ("std_range", "std_range: standard deviations as fractions of 255 (sqrt(var) / 255)"),
    "mean": ("mean_range", "mean_range: [mean, mean] as fractions of 255"),
    "height": ("size", "size: [height, width]"),
    "width": ("size", "size: [height, width]"),
    "scale_min": ("scale_range", "scale_range: [scale_min, scale_max]"),
    "scale_max": ("scale_range", "scale_range: [scale_min, scale_max]"),
    "interpolation": ("interpolation_pair", "interpolation_pair: {downscale: ..., upscale: ...}"),
    "threshold": ("threshold_range", "threshold_range: [t, t] as a fraction of 255"),
    "fog_coef_lower": ("fog_coef_range", "fog_coef_range: [fog_coef_lower, fog_coef_upper]"),
    "fog_coef_upper": ("fog_coef_range", "fog_coef_range: [fog_coef_lower, fog_coef_upper]"),
    "slant_lower": ("slant_range", "slant_range: [slant_lower, slant_upper]"),
    "slant_upper": ("slant_range", "slant_range: [slant_lower, slant_upper]"),
    "snow_point_lower": ("snow_point_range", "snow_point_range: [snow_point_lower, snow_point_upper]"),
    "snow_point_upper": ("snow_point_range", "snow_point_range: [snow_point_lower, snow_point_upper]"),
    "num_shadows_lower": ("num_shadows_limit", "num_shadows_limit: [num_shadows_lower, num_shadows_upper]"),
    "num_shadows_upper": ("num_shadows_limit", "num_shadows_limit: [num_shadows_lower, num_shadows_upper]"),
    "num_flare_circles_lower": ("num_flare_circles_range", "num_flare_circles_range: [lower, upper]"),
    "num_flare_circles_upper": ("num_flare_circles_range", "num_flare_circles_range: [lower, upper]"),
    "angle_lower": ("angle_range", "angle_range: [angle_lower, angle_upper]"),
    "angle_upper": ("angle_range", "angle_range: [angle_lower, angle_upper]"),
    "unit_size_min": ("unit_size_range", "unit_size_range: [unit_size_min, unit_size_max]"),
    "unit_size_max": ("unit_size_range", "unit_size_range: [unit_size_min, unit_size_max]"),
    "holes_number_x": ("holes_number_xy", "holes_number_xy: [holes_number_x, holes_number_y]"),
    "holes_number_y": ("holes_number_xy", "holes_number_xy: [holes_number_x, holes_number_y]"),
    "shift_x": ("shift_xy", "shift_xy: [shift_x, shift_y]"),
    "shift_y": ("shift_xy", "shift_xy: [shift_x, shift_y]"),
}


def transform_hint(name: str) -> str | None:
    """The tail of an unknown-transform message for a 1.x name: its successor and how to map it."""
    found = TRANSFORMS.get(name)
    if found is None:
        return None
    successor, how = found
    return f"; {name} is from Albumentations 1.x: use {successor} ({how})"


def parameter_hint(key: str, accepted: list[str]) -> str | None:
    """The tail of an unknown-parameter message for a 1.x name whose successor this step takes."""
    found = PARAMETERS.get(key)
    if found is None or found[0] not in accepted:
        return None
    return f"; '{key}' is from Albumentations 1.x: use {found[1]}"
