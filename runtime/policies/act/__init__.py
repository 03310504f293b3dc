"""LeRobot ACT (Action Chunking Transformer), loaded and run through lerobot itself."""
