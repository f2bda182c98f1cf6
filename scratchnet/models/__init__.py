"""Models built from scratchnet's layers: ``from scratchnet import models``."""

from scratchnet.models.classifier import mnist_classifier, mnist_cnn, train_mnist_cnn

__all__ = ["mnist_classifier", "mnist_cnn", "train_mnist_cnn"]
