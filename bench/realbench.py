"""RealFill on a RealBench-like set (emoji skin-tone variants, same-scene photo pairs): RealFill
against the same conditional model without its adapter, RePaint, Telea and PatchMatch; hole PSNR
and SSIM, how often seed selection's pick beats the average sample, fit time per scene.

    .venv/bin/python bench/realbench.py --model inpaint32 --out runs/realbench \
        --emoji 12 --photos 2 --samples 16

The code and every option: ``inpaintkit.bench.realbench`` (``--help``).
"""

from inpaintkit.bench.realbench import main

if __name__ == "__main__":
    main()
