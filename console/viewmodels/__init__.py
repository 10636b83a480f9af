"""QObjects that own the state of one screen and report changes through Qt signals."""
