"""Which image goes with which mask: folders of images, --mask-dir pairing, mask files mistaken
for images. Every check here runs on paths only, before any image is decoded or model loaded."""

from __future__ import annotations

from pathlib import Path

from ..errors import InpaintkitError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
"""The files a folder argument expands to (and the masks --mask-dir pairs), case-insensitive."""


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def expand_images(arguments: list[Path]) -> list[Path]:
    """The image files of IMAGES arguments: files as given, folders as the images inside them
    (sorted by name; not recursive). Missing paths and folders without images are one error
    that names them all."""
    images: list[Path] = []
    missing, empty = [], []
    for arg in arguments:
        if arg.is_dir():
            found = _images_in(arg)
            images += found
            if not found:
                empty.append(str(arg))
        elif arg.exists():
            images.append(arg)
        else:
            missing.append(str(arg))
    problems = []
    if missing:
        problems.append(f"not found: {', '.join(missing)}")
    if empty:
        problems.append(
            f"no images ({' '.join(IMAGE_SUFFIXES)}) in the folder(s): {', '.join(empty)}"
        )
    if problems:
        raise InpaintkitError("; ".join(problems))
    return images


def pair_mask_dir(images: list[Path], mask_dir: Path) -> list[Path]:
    """The mask of each image: the file in ``mask_dir`` with the image's stem (any image
    suffix). An image without a mask, a mask without an image, two masks of one stem and an
    image that is its own mask are one error naming them all."""
    if not mask_dir.is_dir():
        raise InpaintkitError(f"--mask-dir must be a folder of masks, got {mask_dir}")
    by_stem: dict[str, list[Path]] = {}
    for path in _images_in(mask_dir):
        by_stem.setdefault(path.stem, []).append(path)
    problems = []
    doubled = [" and ".join(p.name for p in ps) for ps in by_stem.values() if len(ps) > 1]
    if doubled:
        problems.append(f"two masks for one image in {mask_dir}: {'; '.join(doubled)}")
    stems = {p.stem for p in images}
    lonely = [str(p) for p in images if p.stem not in by_stem]
    if lonely:
        problems.append(f"no mask in {mask_dir} for {len(lonely)} image(s): {', '.join(lonely)}")
    unused = [str(p) for s, ps in sorted(by_stem.items()) if s not in stems for p in ps]
    if unused:
        problems.append(f"no image for {len(unused)} mask(s): {', '.join(unused)}")
    if problems:
        raise InpaintkitError("; ".join(problems))
    masks = [by_stem[p.stem][0] for p in images]
    same_file(images, masks)
    return masks


def same_file(images: list[Path], masks: list[Path]) -> None:
    """Refuse an image that is also a mask (the same file, by resolved path)."""
    mask_files = {m.resolve() for m in masks}
    both = [str(p) for p in images if p.resolve() in mask_files]
    if both:
        raise InpaintkitError(
            f"an image and a mask are the same file: {', '.join(both)}; give the masks "
            "with --mask-dir MASKS (a folder of masks named as the images) or --mask FILE"
        )


def check_mask_files(images: list[Path], masks: list[Path]) -> None:
    """Refuse mask files that ended up among the images.

    ``inpaintkit inpaint imgs/*.png --mask masks/*.png`` reaches the program as
    ``--mask masks/a.png`` and the other masks as IMAGES: an image that is a --mask file, or
    images that live partly in a --mask file's folder and partly elsewhere, are refused with a
    pointer to --mask-dir. Images in a --mask file's folder are taken for masks only when other
    images lie elsewhere and they look like masks (see _look_like_masks): photos and masks side
    by side in one folder are fine."""
    mask_files = {m.resolve() for m in masks}
    if any(p.resolve() in mask_files for p in images):
        both = ", ".join(str(p) for p in images if p.resolve() in mask_files)
        hint = (
            _hint(masks)
            if len(images) > 1
            else (
                "; an image's transparent hole is not read as its own mask: save the mask as a "
                "file of its own (white = hole)"
            )
        )
        raise InpaintkitError(f"an image and a mask are the same file: {both}{hint}")
    folders = {m.resolve().parent for m in masks}
    inside = [p for p in images if p.resolve().parent in folders]
    outside = [p for p in images if p.resolve().parent not in folders]
    if inside and outside and _look_like_masks(inside, outside, masks):
        raise InpaintkitError(
            f"{len(inside)} of the images are in the folder of the --mask files: "
            + ", ".join(str(p) for p in inside)
            + _hint(masks)
        )


def _look_like_masks(inside: list[Path], outside: list[Path], masks: list[Path]) -> bool:
    """Whether images beside a --mask file are more masks: one mask per other image (the shell
    pattern's count), a stem of another image, or a one-channel file (mode 1 or L)."""
    if len(inside) + len(masks) == len(outside):
        return True
    if {p.stem for p in inside} & {p.stem for p in outside}:
        return True
    return any(_mode(p) in ("1", "L") for p in inside)


def _mode(path: Path) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:  # the header only
            return im.mode
    except (OSError, ValueError):
        return None  # load_image names the unreadable file later


def _hint(masks: list[Path]) -> str:
    folder = masks[0].parent
    return (
        f". A shell pattern after --mask (--mask {folder}/*.png) gives ONE --mask and makes the "
        f"other masks images; to pair each image with the mask of the same name use "
        f"--mask-dir {folder}, or repeat --mask before each mask file"
    )


def resolve_masks(
    images: list[Path], mask: list[Path] | None, mask_dir: Path | None, mask_kind: str | None
) -> list[Path] | None:
    """The mask files: --mask (one, or one per image) or --mask-dir paired by name; None for
    --mask-kind. Mask files among the images are refused (see cli.pairing)."""
    if sum(x is not None for x in (mask, mask_dir, mask_kind)) != 1:
        raise InpaintkitError(
            "give exactly one of --mask FILE, --mask-dir FOLDER or --mask-kind KIND"
        )
    if mask_dir is not None:
        return pair_mask_dir(images, mask_dir)
    if mask is None:
        return None
    check_mask_files(images, mask)
    if len(mask) not in (1, len(images)):
        raise InpaintkitError(
            f"give one --mask for all images or one per image ({len(images)}), not "
            f"{len(mask)}; for a folder of masks named as the images use --mask-dir"
        )
    return mask
