"""Models built from scratchnet's layers: ``from scratchnet import models``."""

from scratchnet.models.classifier import (
    accuracy,
    default_classifier_path,
    mnist_classifier,
    mnist_cnn,
    train_mnist_cnn,
)

__all__ = ["accuracy", "default_classifier_path", "mnist_classifier", "mnist_cnn",
           "train_mnist_cnn"]
