"""The clinical knowledge the checks run on, as reviewable data files: formulary.yaml (drugs,
loaded into `Drug` by prescriptions.formulary), interactions.yaml and beers.yaml.
See docs/formulary.md for how to change them."""


def formulary_version() -> str:
    """The formulary file's `version`, as each prescription's check result records it."""
    from prescriptions.formulary import formulary_version as version  # the file is read once, then cached

    return version()
