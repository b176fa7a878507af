from inpaintkit.cli import app

app(prog_name="inpaintkit")
