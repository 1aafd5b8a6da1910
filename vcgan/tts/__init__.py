"""A small offline text-to-speech pipeline: festival front end, frame labels, an MSE acoustic model."""
