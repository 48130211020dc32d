"""What a user runs besides DVC: `python -m ecaser` (`cli`), predicting new recordings (`predict`), comparing two runs
(`compare`) and the grid on Slurm (`slurm`)."""
