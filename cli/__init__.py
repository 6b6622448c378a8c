"""The ``soundsift`` command. It sits above the models (like the Gradio app in ``demo``): each
subcommand imports its part lazily, so ``soundsift --help`` stays fast."""
