"""Infrastructure every room uses and no number depends on: params.yaml (`params`), one-line errors (`errors`),
outputs written whole or not at all (`atomic`), progress bars (`progress`), and where and how fast a run goes
(`runtime`: the device, the GPU lease, opt-in GPU mechanisms)."""
