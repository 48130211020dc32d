"""ecaser: speech emotion recognition with a CNN and efficient channel attention, as a DVC pipeline."""
