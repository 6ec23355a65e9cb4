"""Recipes: the YAML a user writes -> a validated `Recipe`, every problem located at file:line:col.

model (what a recipe is) . presets . layers (extends) . problems/messages (located, worded) .
steps (each step checked) . probe (steps and pipeline run on a test image) . lint (domain rules) .
writable (can `run` store it) . validate (check_recipe: all of it, every problem at once).
Transforms are built by `augcli.pipeline`, which this package uses and which never imports it.
"""

from augcli.recipe.messages import describe_exception, format_value
from augcli.recipe.model import Recipe, TransformSpec
from augcli.recipe.presets import init_recipe_text, preset_names, preset_path, resolve_recipe_arg
from augcli.recipe.probe import probe_image
from augcli.recipe.problems import Problem
from augcli.recipe.validate import Report, check_recipe, load_recipe

__all__ = [
    "Problem",
    "Recipe",
    "Report",
    "TransformSpec",
    "check_recipe",
    "describe_exception",
    "format_value",
    "init_recipe_text",
    "load_recipe",
    "preset_names",
    "preset_path",
    "probe_image",
    "resolve_recipe_arg",
]
