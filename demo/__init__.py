"""The Gradio demo: ``soundsift demo`` or ``python -m demo`` (see demo/app.py)."""
