"""Models built from scratchnet's layers: ``from scratchnet import models``."""

from scratchnet.models.autoencoders import (
    Autoencoder,
    LinearAutoencoder,
    TiedDense,
    conv_autoencoder,
    deep_autoencoder,
)
from scratchnet.models.char_rnn import CharRNN
from scratchnet.models.classifier import (
    NOT_A_DIGIT,
    accuracy,
    default_classifier_path,
    mnist_classifier,
    mnist_cnn,
    not_digit_images,
    train_mnist_cnn,
)
from scratchnet.models.colorization import Colorization
from scratchnet.models.context_encoder import ContextEncoder
from scratchnet.models.cyclegan import CycleGAN
from scratchnet.models.gan import (
    GAN,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from scratchnet.models.image_to_image import UNet, encoder_decoder, patchgan_discriminator
from scratchnet.models.infogan import InfoGAN
from scratchnet.models.inpainting import (
    context_weights,
    hole_psnr,
    inpainting_loss,
    inpainting_mask,
    mean_fill,
    nearest_neighbour_fill,
    semantic_inpainting,
)
from scratchnet.models.jigsaw import JigsawPuzzle, min_hamming_distance, permutation_set
from scratchnet.models.latent import interpolate
from scratchnet.models.ngram import NGramModel
from scratchnet.models.pca import PCA
from scratchnet.models.pix2pix import Pix2Pix
from scratchnet.models.pretext import RotationPrediction, SimCLR
from scratchnet.models.pretrained import mnist_dcgan, mnist_vae
from scratchnet.models.rbm import DBN, RBM, ais_schedule
from scratchnet.models.sequence_autoencoder import SequenceAutoencoder
from scratchnet.models.super_resolution import (
    PixelShuffle,
    SuperResolution,
    downsample,
    sr_upsampler,
    upsample,
)
from scratchnet.models.vae import VAE, conv_vae, mlp_vae, reparameterize

__all__ = ["DBN", "GAN", "NOT_A_DIGIT", "PCA", "RBM", "VAE", "Autoencoder", "CharRNN",
           "Colorization", "ContextEncoder", "CycleGAN", "InfoGAN", "JigsawPuzzle",
           "LinearAutoencoder", "NGramModel", "Pix2Pix", "PixelShuffle", "RotationPrediction",
           "SequenceAutoencoder", "SimCLR", "SuperResolution", "TiedDense", "UNet", "accuracy",
           "ais_schedule", "context_weights", "conv_autoencoder", "conv_vae",
           "dcgan_discriminator", "dcgan_generator", "deep_autoencoder", "default_classifier_path",
           "downsample", "encoder_decoder", "hole_psnr", "inpainting_loss", "inpainting_mask",
           "interpolate", "mean_fill", "min_hamming_distance", "mlp_discriminator",
           "mlp_generator", "mlp_vae", "mnist_classifier", "mnist_cnn", "mnist_dcgan", "mnist_vae",
           "nearest_neighbour_fill", "not_digit_images", "patchgan_discriminator",
           "permutation_set", "reparameterize", "semantic_inpainting", "sr_upsampler",
           "train_mnist_cnn", "upsample"]
