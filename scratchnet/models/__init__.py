"""Models built from scratchnet's layers: ``from scratchnet import models``."""

from scratchnet.models.autoencoders import (
    Autoencoder,
    LinearAutoencoder,
    TiedDense,
    conv_autoencoder,
    deep_autoencoder,
)
from scratchnet.models.classifier import (
    accuracy,
    default_classifier_path,
    mnist_classifier,
    mnist_cnn,
    train_mnist_cnn,
)
from scratchnet.models.pca import PCA

__all__ = ["PCA", "Autoencoder", "LinearAutoencoder", "TiedDense", "accuracy",
           "conv_autoencoder", "deep_autoencoder", "default_classifier_path",
           "mnist_classifier", "mnist_cnn", "train_mnist_cnn"]
