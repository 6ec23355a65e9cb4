"""Decode images the way a viewer shows them, and write outputs atomically.

Reading (``read_image``) returns pixels in the layout Albumentations expects: ``HxW`` for one channel,
``HxWx3`` RGB or ``HxWx4`` RGBA (RGB order, never OpenCV's BGR), ``uint8``, or ``uint16`` for 16-bit
sources. What each kind of source becomes:

==================================  ============================================================
source                              decoded as
==================================  ============================================================
EXIF orientation 2..8               rotated/flipped upright on read (same result as Pillow's
                                    ``ImageOps.exif_transpose``); outputs carry no orientation tag.
                                    A PNG ``eXIf`` chunk and XMP ``tiff:Orientation`` count too;
                                    unreadable EXIF counts as "no orientation".
L (8-bit grayscale)                 ``HxW`` uint8
1 (bilevel)                         ``HxW`` uint8 holding 0/255
I;16 (16-bit grayscale PNG/TIFF)    ``HxW`` uint16; 32-bit integer ("I") too if its values fit
16-bit RGB / RGBA / LA PNG or TIFF  ``HxWx3`` / ``HxWx4`` uint16 (decoded by OpenCV: Pillow would cut
                                    them to 8 bits); gray+alpha becomes RGBA
P (palette)                         RGB, or RGBA when it carries transparency (tRNS)
L / RGB / I;16 with tRNS            RGBA (alpha 0 where the pixel equals the transparent colour)
LA, PA, RGBa                        RGBA (gray replicated): one alpha layout for every source
RGBA                                RGBA
CMYK (JPEG/TIFF)                    RGB by Pillow's plain conversion (Adobe's inverted CMYK is
                                    detected by Pillow); an embedded CMYK ICC profile is NOT
                                    applied, so colours are approximate
YCbCr, RGBX (TIFF)                  RGB
F (32-bit float TIFF), others       rejected: "unsupported colour mode ..." (a float image has no
                                    agreed range to map to pixels; convert it to 16-bit first)
animated GIF/WebP/PNG, multi-page   first frame / page only
==================================  ============================================================

Alpha travels as a fourth channel. Albumentations' spatial transforms (flips, rotations, crops,
affine, resize, elastic) handle 4 channels; most colour transforms (HueSaturationValue, ColorJitter,
ToGray, CLAHE, ...) accept only 1 or 3, so callers should split alpha off and pass it as a mask.

Readable formats: JPEG (and its MPO variant), PNG, WebP, TIFF, BMP, GIF. Files are read into memory
first, so names with spaces or non-ASCII characters work everywhere. Failures raise
``ImageReadError`` with a short reason: "file not found", "is a directory", "empty file",
"not an image (cannot identify format)", "truncated image: ...", "corrupt image: ...",
"image too large: ..." (Pillow's decompression-bomb limit, about 179 megapixels).
Truncated files are never accepted silently (``ImageFile.LOAD_TRUNCATED_IMAGES`` stays False and
every image is fully decoded before it is returned).

Speed: 8-bit L/RGB/RGBA JPEG and PNG, which are most datasets, are decoded by OpenCV (measured 1.55x
faster than Pillow for JPEG, 1.15x for PNG, identical pixels); Pillow only reads their headers
(format, mode, EXIF, ICC). OpenCV's own EXIF rotation is disabled so orientation is applied once, the
same way for every path.

Writing (``write_image`` / ``encode_image``) picks the format from the argument or the suffix
(.jpg/.jpeg, .png, .webp, .tif/.tiff, .bmp):

* 16-bit arrays stay 16-bit in PNG and TIFF; JPEG, WebP and BMP get ``round(x / 257)`` (the exact
  inverse of the usual 8-to-16-bit ``x * 257``).
* Alpha is kept by PNG, WebP and TIFF. JPEG and BMP (whose alpha most readers ignore) get RGBA
  composited over white: that is how a transparent image looks on a web page or a document, and it
  never reveals the arbitrary colours encoders leave under fully transparent pixels.
* Float arrays (after ToFloat/Normalize) must hold values in [0, 1]; they are scaled to uint16 when
  ``source`` was 16-bit and the format keeps 16 bits, else to uint8. Anything else is an error.
* Gray is stored as one channel except by WebP, which has no gray mode (it stores RGB).
* Defaults: JPEG quality 95 (4:2:0, baseline), WebP quality 95 (lossy), PNG zlib level 1 with the
  RLE strategy and the Paeth filter (smaller than zlib's default level 6 on photos, several times
  faster), TIFF LZW with horizontal predictor (alpha marked as unassociated ExtraSamples), BMP
  uncompressed. ``quality`` is ignored by lossless formats.
* Output is deterministic: the same array gives byte-identical files (no timestamps, no EXIF).
* ICC profiles from ``source`` are kept for JPEG, PNG and WebP when their colour space still matches
  the pixels (an RGB profile is not attached to a gray output); TIFF and BMP outputs drop them.
* Every write goes to ``.<name>.<pid>.tmp`` in the destination folder and is renamed over the final
  name with ``os.replace``, so an interrupted run never leaves a truncated image; the temporary file
  is removed on any error. ``fsync`` is off by default (see ``atomic_write_bytes``).
"""

from augcli.imageio.decode import (
    READ_FORMATS,
    DecodedImage,
    Shrink,
    decode_image,
    image_size,
    read_image,
)
from augcli.imageio.encode import (
    DEFAULT_QUALITY,
    IMAGE_SUFFIX_LIST,
    IMAGE_SUFFIXES,
    WRITE_FORMATS,
    encode_image,
    suffix_format,
    unchanged_copy,
    write_image,
)
from augcli.imageio.masks import decode_index_mask, encode_index_mask, read_index_mask

__all__ = [
    "DEFAULT_QUALITY",
    "IMAGE_SUFFIXES",
    "IMAGE_SUFFIX_LIST",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "DecodedImage",
    "Shrink",
    "decode_image",
    "decode_index_mask",
    "encode_image",
    "encode_index_mask",
    "image_size",
    "read_image",
    "read_index_mask",
    "suffix_format",
    "unchanged_copy",
    "write_image",
]
