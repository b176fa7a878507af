"""The photo benchmark (issue 18): photo methods against telea, navier-stokes, patchmatch,
exemplar and biharmonic on the held-out photos at their own resolution (LaMa thin / medium /
thick holes) and on 256x256 crops (the RePaint paper's six); hole PSNR and SSIM with paired 95%
intervals, seconds per megapixel of hole, grids of the full photos.

    .venv/bin/python bench/photobench.py --out runs/photobench \
        --methods "lama:model=NET.safetensors,telea,navier-stokes,patchmatch,biharmonic,pull-push"

The code and every option: ``inpaintkit.bench.photobench`` (``--help``); docs/data.md,
"Photo benchmark".
"""

from inpaintkit.bench.photobench import main

if __name__ == "__main__":
    main()
