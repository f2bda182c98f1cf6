"""The networks of pix2pix (Isola et al., 2017), scaled down for 28×28 digits.

Image-to-image translation learns a map from an input image x to an output image y (edges
to photos, grey to colour, a digit to its negative) from pairs (x, y). pix2pix trains a
conditional GAN for it: the generator G(x) is a U-Net, and the discriminator judges the
*pair* (x, y), one small patch at a time.

* :class:`UNet` (Ronneberger et al., 2015): an encoder that halves the image at each step,
  a decoder that doubles it back, and skip connections that hand each decoder step the
  encoder's activation at the same size.
* :func:`patchgan_discriminator`: a fully convolutional discriminator whose output is not
  one logit but a map of them, each judging whether one patch of the pair looks real.

References: Isola, Zhu, Zhou & Efros (2017), "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR; Ronneberger, Fischer & Brox (2015), "U-Net: Convolutional
Networks for Biomedical Image Segmentation", MICCAI.
"""

from __future__ import annotations

import numpy as np

import scratchnet.functional as F
from scratchnet import nn
from scratchnet.autograd import Tensor
from scratchnet.checks import check_int
from scratchnet.random import own_generator

__all__ = ["UNet", "encoder_decoder", "patchgan_discriminator"]

OUTPUTS = ("sigmoid", "tanh", None)


class UNet(nn.Module):
    r"""A U-Net generator: (N, C_in, H, W) -> (N, C_out, H, W).

    With ``w = width``, ``d = depth`` and e₀ = x the input, the encoder makes

        e_k = LeakyReLU₀.₂(BN(Conv4×4,stride 2(e_{k−1})))  for k = 1 … d

    (no BatchNorm at k = 1, as in pix2pix: normalising the raw pixels would discard their
    level; the convolutions followed by BatchNorm have no bias, which the batch mean would
    cancel), with w·2^{k−1} channels at size H/2^k × W/2^k; e_d is the bottleneck. The
    decoder climbs back, k = d … 1:

        u_k = ReLU(BN(ConvTranspose4×4,stride 2(h_k))),   h_{k−1} = concat(u_k, e_{k−1}),

    starting from h_d = e_d, where u_k has the channels of e_{k−1} (w for k = 1) and the
    size of e_{k−1}. The output is ``output``(Conv3×3(h₀)), to ``out_channels``. For
    28×28 inputs, ``width=32``, ``depth=2``:

    ======================  =================  ==================================
    level                   encoder e_k        decoder h_k = concat(u_{k+1}, e_k)
    ======================  =================  ==================================
    0 (28×28)               x: C_in            u₁: 32 + x: C_in -> Conv3×3 -> C_out
    1 (14×14)               e₁: 32             u₂: 32 + e₁: 32 = 64
    2 (7×7, bottleneck)     e₂: 64             (h₂ = e₂)
    ======================  =================  ==================================

    **Skip connections.** Without them (a plain encoder-decoder) everything the output
    needs passes through the 7×7 bottleneck, so fine detail (the exact position of a stroke)
    must be squeezed in and rebuilt. Concatenating e_{k−1} beside u_k lets the output copy
    low-level detail straight from the input, and the bottleneck carries only what must
    change. The last skip is the input itself, so a map close to the identity, such as
    inverting a digit, is one 3×3 convolution away.

    Args:
        in_channels: C_in of the input images.
        out_channels: C_out of the output images.
        width: w, the channels of the first encoder step (doubled at each further step).
        depth: d ≥ 1, the number of halvings; H and W must be divisible by 2^d (28×28
            allows d = 1 or 2).
        output: ``"sigmoid"`` for images in [0, 1], ``"tanh"`` for [−1, 1], ``None`` for
            an unbounded output.
        rng: generator or seed for the initial weights.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 32, depth: int = 2,
                 output: str | None = "sigmoid",
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.in_channels = check_int("UNet", "in_channels", in_channels)
        self.out_channels = check_int("UNet", "out_channels", out_channels)
        self.width = check_int("UNet", "width", width)
        self.depth = check_int("UNet", "depth", depth)
        if output not in OUTPUTS:
            raise ValueError(f"UNet: output must be one of {OUTPUTS}, got {output!r}")
        self.output = output
        rng = own_generator(rng)
        # channels[k] is the channel count of e_k; e_0 is the input.
        channels = [in_channels] + [width * 2 ** k for k in range(depth)]
        steps = []
        for k in range(1, depth + 1):
            # A bias before BatchNorm would be subtracted again with the batch mean.
            layers: list[nn.Module] = [nn.Conv2D(channels[k - 1], channels[k], 4, stride=2,
                                                 padding=1, bias=k == 1, rng=rng)]
            if k > 1:
                layers.append(nn.BatchNorm2D(channels[k]))
            steps.append(nn.Sequential(*layers, nn.LeakyReLU(0.2)))
        self.encoder = nn.Sequential(*steps)
        # up[k] is u_k's channel count: e_{k−1}'s, except at the top, where e_0 is the input.
        up = {k: channels[k - 1] if k > 1 else width for k in range(1, depth + 1)}
        steps = []
        for k in range(depth, 0, -1):
            # h_k: the bottleneck at the bottom, else u_{k+1} concatenated with e_k.
            h_channels = channels[depth] if k == depth else up[k + 1] + channels[k]
            steps.append(nn.Sequential(
                nn.ConvTranspose2D(h_channels, up[k], 4, stride=2, padding=1, bias=False,
                                   rng=rng),
                nn.BatchNorm2D(up[k]), nn.ReLU()))
        self.decoder = nn.Sequential(*steps)
        self.head = nn.Conv2D(up[1] + in_channels, out_channels, 3, padding=1,
                              activation=output, rng=rng)

    def _check(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNet: expected input of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        factor = 2 ** self.depth
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(f"UNet: depth={self.depth} halves the image {self.depth} times, "
                             f"so H and W must be divisible by {factor}; got "
                             f"{x.shape[2]}×{x.shape[3]}")

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        self._check(x)
        skips = [x]                      # e_0 … e_d
        for step in self.encoder:
            skips.append(step(skips[-1]))
        h = skips.pop()                  # the bottleneck e_d
        for step in self.decoder:
            h = F.concatenate([step(h), skips.pop()], axis=1)
        return self.head(h)

    def extra_repr(self) -> str:
        return (f"{self.in_channels} -> {self.out_channels}, width={self.width}, "
                f"depth={self.depth}, output={self.output!r}")


def patchgan_discriminator(in_channels: int, width: int = 32,
                           rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """pix2pix's PatchGAN discriminator, sized for 28×28 pairs: a map of logits.

    A conditional discriminator judges the pair (input x, output y), so its input is the
    two images concatenated along channels and ``in_channels = C_in + C_out`` (2 for a
    grey digit and its grey translation). Layers:

    Conv2D 4×4 stride 2 padding 1 (in_channels -> w) + LeakyReLU(0.2)   -> (w, 14, 14);
    Conv2D 4×4 stride 2 padding 1 (w -> 2w) + BatchNorm2D + LeakyReLU(0.2) -> (2w, 7, 7);
    Conv2D 3×3 stride 1 padding 1 (2w -> 1)                             -> (1, 7, 7).

    The output (N, 1, 7, 7) holds logits, one per patch; the GAN loss averages over them.
    **Receptive field.** Going back from a logit, each layer of kernel k and stride s
    widens the field r to (r − 1)·s + k: 3 at the last layer, (3 − 1)·2 + 4 = 8 at the
    second, (8 − 1)·2 + 4 = 18 at the first. So logit (i, j) sees the 18×18 pixels of rows
    4i − 7 … 4i + 10 and columns 4j − 7 … 4j + 10 (clipped at the border), and neighbouring
    logits' patches are 4 pixels apart. Judging patches rather than the whole image
    asks for local realism (sharp strokes), leaving the global layout to the L1 loss of
    pix2pix; it also needs fewer weights than a dense head (no 2w·7·7 -> 1 layer).

    The convolutions followed by BatchNorm have no bias, which the batch mean would cancel.
    In training mode BatchNorm mixes statistics across the batch and the positions; in
    evaluation mode each logit depends only on its patch.
    """
    in_channels = check_int("patchgan_discriminator", "in_channels", in_channels)
    width = check_int("patchgan_discriminator", "width", width)
    rng = own_generator(rng)
    return nn.Sequential(
        nn.Conv2D(in_channels, width, 4, stride=2, padding=1, rng=rng), nn.LeakyReLU(0.2),
        nn.Conv2D(width, 2 * width, 4, stride=2, padding=1, bias=False, rng=rng),
        nn.BatchNorm2D(2 * width), nn.LeakyReLU(0.2),
        nn.Conv2D(2 * width, 1, 3, padding=1, rng=rng))


def encoder_decoder(in_channels: int, out_channels: int, width: int = 32, depth: int = 2,
                    output: str | None = "sigmoid",
                    rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """A U-Net without its skip connections: (N, C_in, H, W) -> (N, C_out, H, W).

    The same encoder and decoder as :class:`UNet` (``width`` w, ``depth`` d): d steps
    Conv4×4 stride 2 + [BatchNorm] + LeakyReLU(0.2) down to w·2^{d−1} channels at
    H/2^d × W/2^d, d steps ConvTranspose4×4 stride 2 + BatchNorm + ReLU back up (to w
    channels at the top), then Conv3×3 to ``out_channels`` and ``output``. Each decoder
    step reads only the step below it, so everything the output knows about the input has
    passed through the bottleneck (w·2^{d−1} × H/2^d × W/2^d numbers; 64 × 7 × 7 for
    w = 32, d = 2 on 28×28). With no path around it, the network cannot simply copy its
    input: this is the generator to use where one wants to see what a loss, rather than
    the architecture, makes it keep (CycleGAN without its cycle loss, in lesson 19).
    """
    in_channels = check_int("encoder_decoder", "in_channels", in_channels)
    out_channels = check_int("encoder_decoder", "out_channels", out_channels)
    width = check_int("encoder_decoder", "width", width)
    depth = check_int("encoder_decoder", "depth", depth)
    if output not in OUTPUTS:
        raise ValueError(f"encoder_decoder: output must be one of {OUTPUTS}, got {output!r}")
    rng = own_generator(rng)
    channels = [in_channels] + [width * 2 ** k for k in range(depth)]
    layers: list[nn.Module] = []
    for k in range(1, depth + 1):
        # A bias before BatchNorm would be subtracted again with the batch mean.
        layers.append(nn.Conv2D(channels[k - 1], channels[k], 4, stride=2, padding=1,
                                bias=k == 1, rng=rng))
        if k > 1:
            layers.append(nn.BatchNorm2D(channels[k]))
        layers.append(nn.LeakyReLU(0.2))
    # Climbing back, step k goes from e_k's channels to e_{k−1}'s (w at the top).
    up = [width, *channels[1:]]
    for k in range(depth, 0, -1):
        layers += [nn.ConvTranspose2D(up[k], up[k - 1], 4, stride=2, padding=1, bias=False,
                                      rng=rng),
                   nn.BatchNorm2D(up[k - 1]), nn.ReLU()]
    layers.append(nn.Conv2D(width, out_channels, 3, padding=1, activation=output, rng=rng))
    return nn.Sequential(*layers)
