# %% [markdown]
# # Lesson 15: a character-level LSTM writes Shakespeare's Sonnets
#
# The course's recurrent-network lecture (Jenni & Favaro) ends with an experiment: a
# recurrent network reads Shakespeare's sonnets one character at a time and learns to
# predict the next one. Asked to write, it first produces noise; "train more", and
# the noise turns into words, then into lines of something like verse. This lesson runs
# that experiment with scratchnet and measures it, because text that *looks* like English
# is a weak test: we want a number, on sonnets the model never saw, and a simpler model to
# compare it with.
#
# ## A language model of characters
#
# A character-level language model gives, at every position $t$ of a text, a probability
# distribution over the next character, $p(x_t \mid x_1, \dots, x_{t-1})$. By the chain
# rule, the product of these forecasts is the probability of the whole text,
#
# $$p(x_1, \dots, x_L) = \prod_{t=1}^{L} p(x_t \mid x_{<t}).$$
#
# Training minimises the **cross-entropy**, the mean of $-\ln p(x_t \mid x_{<t})$ over the
# training text: `F.cross_entropy` of the network's logits, exactly as for a classifier
# with one class per character. On held-out text the same quantity in base 2 is the
# **bits per character**,
#
# $$\text{bpc} = -\frac{1}{L}\sum_{t=1}^{L} \log_2 p(x_t \mid x_{<t}),$$
#
# the number of bits an arithmetic coder driven by the model would spend per character.
# Landmarks: a model that guesses uniformly among the $V$ characters scores $\log_2 V$;
# a perfect prophet scores 0. The **perplexity** $2^{\text{bpc}}$ reads the same number as
# "the model is as unsure as a uniform choice among this many characters".
#
# ## The network
#
# `models.CharRNN` is the lecture's network: each character id is looked up in an
# `nn.Embedding`, a recurrent layer (LSTM, GRU or tanh RNN, lesson 14) reads the sequence of
# embeddings, and a `Dense` layer turns every step's state $h^{(t)}$ into $V$ logits for the
# next character. Dropout on the embeddings and on the recurrent outputs keeps it from
# memorising a corpus this small.
#
# The full lesson trains three such networks and takes several minutes (its run time is
# printed at the end). A recurrent network's training is a long chain of small matrix
# products; on a machine whose cores are busy with other work, one BLAS thread
# (`--threads 1`) can be many times faster than two.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import datasets, models, optim, viz
from scratchnet.lesson import KeyNumbers, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: a few thousand characters, tiny net
FIGURES = figure_dir("15_char_rnn_sonnets")
SUMMARY = KeyNumbers("Key numbers from this lesson (bits per character on held-out sonnets):")

# The recipe, found with a PyTorch twin of this network (the same sizes, optimiser and
# truncated BPTT): one layer of 384 units, 16 parallel streams of 64 characters, Adam at
# 3e-3, gradient norm clipped at 5, dropout 0.35. Every network trains for at most
# MAX_EPOCHS epochs and stops after PATIENCE epochs without a better validation score.
HIDDEN = 16 if QUICK else 384
EMBEDDING = 32
STREAMS, STEPS = 16, 64
LEARNING_RATE = 3e-3
DROPOUT = 0.35
MAX_EPOCHS = 2 if QUICK else 18
PATIENCE = 3
SAMPLE_AT = (0, 1) if QUICK else (0, 1, 3, 8)  # the LSTM writes after these epochs (0: untrained)
SAMPLE_CHARS, SAMPLE_SEED, SAMPLE_TEMPERATURE = 240, 1, 0.8
print(f"quick mode: {QUICK}; hidden units {HIDDEN}, at most {MAX_EPOCHS} epochs; "
      f"figures go to {FIGURES}")

# %% [markdown]
# ## 1. The data: the Sonnets, split by whole sonnets
#
# `datasets.load_text("sonnets")` returns all the sonnets as one string, one blank line
# between sonnets. `CharVocab` numbers the distinct characters (the newline gets id 0).
# `split_blocks` shuffles the *sonnets* with a fixed seed and deals them 80/10/10 into
# training, validation and test text, so that no sonnet is half in training and half in
# the test: a held-out sonnet is one the model never read a line of. The validation part
# chooses when to stop training; the test part is looked at once, at the end.

# %%
text = datasets.load_text("sonnets")
vocab = datasets.CharVocab(text)
V = len(vocab)
parts = dict(zip(("train", "validation", "test"), datasets.split_blocks(text)))
if QUICK:  # a few sonnets' worth of each part: enough to run every cell
    parts = {name: part[:5000 if name == "train" else 1200] for name, part in parts.items()}
ids = {name: vocab.encode(part) for name, part in parts.items()}
print(f"{len(text):,} characters in all, V = {V} distinct characters:")
print("  " + repr(vocab.decode(np.arange(V))))
for name, part in parts.items():
    print(f"  {name:<10} {len(part):>7,} characters, {part.count(chr(10) * 2) + 1:>3} sonnets")
print(f"a uniform guess among the V characters costs log2 V = {math.log2(V):.3f} bits per "
      f"character")
SUMMARY["uniform guess, log2 V"] = f"{math.log2(V):.3f}"
print("\nthe start of the validation text:\n" + parts["validation"][:180])

# %% [markdown]
# ### Batches for truncated backpropagation through time
#
# `TextLoader(ids, batch_size=N, seq_len=T)` cuts the training text into $N$ long
# contiguous **streams**, one per row, and serves them $T$ characters at a time: batch
# $k$ is columns $kT$ to $(k+1)T$ of every row, and the target $y$ is the input $x$ shifted
# one character ahead. The small example below uses $N = 2$ streams of $T = 12$ characters:
# row 1 of each batch starts in the middle of the text, and each row of batch 2 carries on
# exactly where the same row of batch 1 stopped.
#
# That continuity is what **truncated BPTT** needs. Backpropagating through the whole
# text at once would unroll tens of thousands of steps. Instead `CharRNN.loss` starts each
# batch from the *final state of the previous batch*, detached from its graph
# (`detach_state`): the state carries the context forward across the boundary, so the
# network reads each stream from start to end, while the gradient flows back through only
# the $T$ steps of the current batch. The carried state is dropped whenever the model is
# switched between training and evaluation, which `fit` does at the start of every epoch,
# when the streams start again.

# %%
example = datasets.TextLoader(ids["train"], batch_size=2, seq_len=12)
for k, (x, y) in zip(range(2), example):
    print(f"batch {k}:")
    for row in range(2):
        print(f"  row {row}: x = {vocab.decode(x[row])!r:<18} y = {vocab.decode(y[row])!r}")
loader = datasets.TextLoader(ids["train"], batch_size=STREAMS, seq_len=STEPS)
print(f"\ntraining loader: {STREAMS} streams of {loader.stream_length:,} characters, "
      f"{len(loader)} batches of shape ({STREAMS}, {STEPS}) per epoch")

# %% [markdown]
# ## 2. The baselines: character n-grams
#
# A model is judged against something. The classical language model predicts the next
# character from the $n - 1$ characters before it, by counting: how often did each
# character follow this context in the training text? Counts alone give probability zero
# to anything not seen, which costs infinitely many bits, so the counts are **smoothed**.
# `models.NGramModel` offers two smoothings:
#
# * **add-k**: add a pseudo-count $k$ to every count, $p(x \mid h) = (c(h, x) + k) /
#   (c(h) + kV)$. Simple, and poor for long contexts: most contexts of a small corpus were
#   seen once or twice, and $k$ spread over all $V$ characters swamps what was seen.
# * **interpolated Kneser–Ney**: subtract a small discount from every seen count and give
#   the mass freed to the next shorter context's distribution, recursively down to the
#   uniform one. It is the standard strong baseline for n-gram models.
#
# We fit both for $n = 1, \dots, 5$ on the training text and score the validation and test
# texts. The best order, chosen on validation, is the bar the networks must clear.

# %%
ADD_K = 0.1
ngram_scores = {}
for n in range(1, 6):
    for smoothing in ("interpolated", "add-k"):
        options = {"k": ADD_K} if smoothing == "add-k" else {}
        ngram = models.NGramModel(n, smoothing, vocab_size=V, **options).fit(ids["train"])
        ngram_scores[n, smoothing] = (ngram.bits_per_char(ids["validation"]),
                                      ngram.bits_per_char(ids["test"]))
print(f"{'n':>2}  {'Kneser-Ney val':>14} {'test':>7}   {f'add-k (k={ADD_K}) val':>19} "
      f"{'test':>7}")
for n in range(1, 6):
    (kn_val, kn_test), (ak_val, ak_test) = ngram_scores[n, "interpolated"], ngram_scores[
        n, "add-k"]
    print(f"{n:>2}  {kn_val:>14.4f} {kn_test:>7.4f}   {ak_val:>19.4f} {ak_test:>7.4f}")
best_n = min(range(1, 6), key=lambda n: ngram_scores[n, "interpolated"][0])
best_ngram_val, best_ngram_test = ngram_scores[best_n, "interpolated"]
best_ngram = models.NGramModel(best_n, vocab_size=V).fit(ids["train"])
print(f"best n-gram on validation: n = {best_n}, Kneser-Ney: {best_ngram_val:.4f} bits/char "
      f"(validation), {best_ngram_test:.4f} (test)")
SUMMARY[f"best n-gram (Kneser-Ney, n = {best_n}), validation / test"] = (
    f"{best_ngram_val:.4f} / {best_ngram_test:.4f}")

# %% [markdown]
# Read the table down each column. Every extra character of context helps Kneser–Ney
# until the contexts become too rare in a corpus of this size to say much; add-k is
# level with it for short contexts and falls behind, then gets *worse*, as the contexts
# grow and most of them have been seen only once or twice. The n-gram has one
# fundamental limit the network does not: it forgets everything more than $n - 1$
# characters back, and it cannot generalise from "thy" to "thine" except through shared
# counts of shorter contexts.
#
# ## 3. Training the char-LSTM, and watching it learn to write
#
# The network trains through `sn.train.fit` like every model in the course, with
# `clip_grad_norm=5.0` (lesson 14) and two callbacks:
#
# * `HeldOutBits`, written below, measures the validation bits per character after every
#   epoch, records it in the history as `val_bpc`, and for the LSTM writes a sample at the
#   chosen epochs, always from the same seed and temperature, so that the samples differ
#   only by how much the network has learned;
# * `sn.train.EarlyStopping(monitor="val_bpc", restore_best=True)` stops training when the
#   validation score has not improved for a few epochs and puts back the weights of the
#   best epoch.

# %%
class HeldOutBits(sn.train.Callback):
    """After each epoch: bits/char on held-out ids into the history, and optional samples."""

    order = -1  # before EarlyStopping, which reads the val_bpc recorded here

    def __init__(self, held_out: np.ndarray, sample_at: tuple[int, ...] = ()) -> None:
        self.held_out, self.sample_at = held_out, sample_at
        self.samples: dict[int, str] = {}

    def on_train_begin(self, model: sn.nn.Module) -> None:
        self.samples = {}
        if 0 in self.sample_at:  # the untrained network, for comparison
            self.samples[0] = model.sample(SAMPLE_CHARS, temperature=SAMPLE_TEMPERATURE,
                                           rng=SAMPLE_SEED)
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, history: sn.train.History, model: sn.nn.Module) -> None:
        # fit logs the mean training loss in nats, measured with dropout active.
        history.record({"train_bpc": history["loss"][-1] / math.log(2),
                        "val_bpc": model.bits_per_char(self.held_out)})
        print(f"  epoch {epoch:>2}: training {history['train_bpc'][-1]:.3f}, validation "
              f"{history['val_bpc'][-1]:.3f} bits/char "
              f"({time.perf_counter() - self.started:.0f} s)", flush=True)
        if epoch in self.sample_at:
            self.samples[epoch] = model.sample(SAMPLE_CHARS, temperature=SAMPLE_TEMPERATURE,
                                               rng=SAMPLE_SEED)


def train_char_model(cell: str, sample_at: tuple[int, ...] = ()) -> dict:
    """Train a CharRNN with this lesson's recipe; its weights are the best epoch's."""
    sn.manual_seed(0)
    model = models.CharRNN(V, HIDDEN, cell=cell, embedding_dim=EMBEDDING, dropout=DROPOUT,
                           vocab=vocab, rng=0)
    held_out = HeldOutBits(ids["validation"], sample_at)
    stopper = sn.train.EarlyStopping(monitor="val_bpc", patience=PATIENCE, restore_best=True)
    print(f"{cell.upper()}: {model.num_parameters():,} parameters")
    started = time.perf_counter()
    history = sn.train.fit(model, lambda m, x, y: m.loss(x, y),
                           optim.Adam(model.parameters(), lr=LEARNING_RATE), loader,
                           epochs=MAX_EPOCHS, callbacks=[held_out, stopper],
                           clip_grad_norm=5.0)
    seconds = time.perf_counter() - started
    return {"model": model, "history": history, "best_epoch": stopper.best_epoch,
            "samples": held_out.samples, "seconds": seconds,
            "val": model.bits_per_char(ids["validation"]),
            "test": model.bits_per_char(ids["test"])}


runs = {"lstm": train_char_model("lstm", sample_at=SAMPLE_AT)}
lstm = runs["lstm"]["model"]
print(f"LSTM: best validation score at epoch {runs['lstm']['best_epoch']} of "
      f"{runs['lstm']['history'].epochs} run, {runs['lstm']['seconds']:.0f} s of training")

# %% [markdown]
# ### "Train more": the samples
#
# Each sample below starts from a newline and draws a few hundred characters, each one fed back in
# as the next input (lesson 14's one-to-many mapping), with the same seed and temperature
# every time. The last is written by the best weights, the ones early stopping kept.

# %%
for epoch, sample in runs["lstm"]["samples"].items():
    if epoch == 0:
        print("----- before training (random weights) -----")
    else:
        print(f"----- after epoch {epoch} (validation "
              f"{runs['lstm']['history']['val_bpc'][epoch - 1]:.3f} bits/char) -----")
    print(sample)
final_sample = lstm.sample(SAMPLE_CHARS, temperature=SAMPLE_TEMPERATURE, rng=SAMPLE_SEED)
print(f"----- the best weights, epoch {runs['lstm']['best_epoch']} "
      f"(validation {runs['lstm']['val']:.3f} bits/char) -----")
print(final_sample)

# %% [markdown]
# Read the samples from top to bottom; this is the lecture's slide, computed. Before
# training, every character is about as likely as every other: capitals, punctuation and
# letters in a jumble, no spaces where words would end. One epoch later the network
# knows which characters are common, puts spaces and line breaks at about the right
# rate, and has picked up the most frequent short words ("the", "my", "thou"); the longer
# words are invented. A few epochs on, more of the words are real and lines begin with
# a capital. With the best weights most words are English and the text falls into lines
# of verse, some of them ending in punctuation. What it never learns from this little
# text is meaning: a line is grammatical for a few words at a time, then wanders.
#
# The numbers behind the samples are in the curves. In the figure below, the training
# bits per character are measured with dropout switched on, as the network trained, so
# they start above the validation curve. They keep falling for as long as we train,
# while the validation curve flattens and, trained long enough, turns up: from there on
# the network is memorising its training sonnets rather than learning English. Early
# stopping keeps the weights from the bottom of the validation curve, marked by the star.

# %%
history = runs["lstm"]["history"]
epochs_axis = np.arange(1, history.epochs + 1)
fig, ax = plt.subplots(figsize=(8, 4.6))
ax.plot(epochs_axis, history["train_bpc"], "--", marker="o", color="tab:orange",
        label="LSTM, training text (dropout on)")
ax.plot(epochs_axis, history["val_bpc"], "-", marker="o", color="tab:orange",
        label="LSTM, validation sonnets")
ax.plot(runs["lstm"]["best_epoch"], runs["lstm"]["val"], "*", markersize=15, color="black",
        label="best epoch: the weights kept")


def finish_epoch_plot(fig, ax, ylabel: str, title: str, name: str) -> None:
    """The best n-gram's line, the axes' labels, and the figure saved as ``name``."""
    ax.axhline(best_ngram_val, color="0.35", linestyle=":",
               label=f"best n-gram (Kneser-Ney, n = {best_n}), validation")
    ax.set(xlabel="epoch (one pass over the training text)", ylabel=ylabel, title=title)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    print("saved", viz.save_figure(fig, FIGURES / name))


finish_epoch_plot(fig, ax, "bits per character",
                  "The LSTM's validation curve drops below the n-gram line, then flattens\n"
                  "while the training curve keeps falling", "lstm_learning_curves.png")

# %% [markdown]
# ## 4. Temperature
#
# Sampling draws each character from the model's distribution raised to the power
# $1/\tau$ and renormalised, $p_\tau(x) \propto p(x)^{1/\tau}$: in terms of the logits
# $\ell$, $\mathrm{softmax}(\ell / \tau)$. At $\tau = 1$ it is the model's own
# distribution. A low temperature sharpens it towards the most likely character: the text
# is spelt correctly but plays safe and repeats itself, falling into loops of common
# words. A high temperature flattens it towards uniform: more variety, more misspellings,
# stray capitals and punctuation. The same trained network, the same seed, three
# temperatures:

# %%
TEMPERATURES = (0.3, 0.8, 1.5)
for temperature in TEMPERATURES:
    print(f"----- temperature {temperature} -----")
    print(lstm.sample(SAMPLE_CHARS, temperature=temperature, rng=SAMPLE_SEED))

# %% [markdown]
# Look for the loops at the lowest temperature (the commonest words and phrases,
# "the", "thy sweet", "the world", coming back again and again), for the most varied
# English at the middle one, and at the highest for words that almost exist and for
# punctuation in odd places. Temperature changes only how we *draw* from the
# model; the bits per character measure the model itself, at $\tau = 1$.
#
# ## 5. LSTM, GRU and tanh RNN against the n-grams
#
# Lesson 14 measured why a tanh RNN struggles to carry information over many steps and
# why the LSTM's gated memory does better. Here is what that means for the task. The GRU
# and the tanh RNN train with exactly the LSTM's recipe: the same sizes, learning rate,
# clipping, dropout, epoch budget and early stopping. (A tanh RNN often prefers a smaller
# learning rate; we keep the recipe fixed and report what it gives.)

# %%
for cell in ("gru", "rnn"):
    runs[cell] = train_char_model(cell)

names = {"lstm": "LSTM", "gru": "GRU", "rnn": "tanh RNN"}
print(f"\n{'model':<28} {'parameters':>10} {'validation':>11} {'test':>7} "
      f"{'best epoch':>11} {'training s':>11}")
for cell, run in runs.items():
    model_name = f"{names[cell]}, H = {HIDDEN}"
    stopped = f"{run['best_epoch']} of {run['history'].epochs}"
    print(f"{model_name:<28} {run['model'].num_parameters():>10,} {run['val']:>11.4f} "
          f"{run['test']:>7.4f} {stopped:>11} {run['seconds']:>11.0f}")
for n in range(5, 0, -1):
    kn_val, kn_test = ngram_scores[n, "interpolated"]
    print(f"{str(n) + '-gram, Kneser-Ney':<28} {'':>10} {kn_val:>11.4f} {kn_test:>7.4f}")
print(f"{'uniform guess':<28} {'':>10} {math.log2(V):>11.4f} {math.log2(V):>7.4f}")

margin_val = best_ngram_val - runs["lstm"]["val"]
margin_test = best_ngram_test - runs["lstm"]["test"]
print(f"\nthe best n-gram's bits/char minus the LSTM's: {margin_val:+.4f} on validation, "
      f"{margin_test:+.4f} on test (positive: the LSTM is better)")
print(f"the LSTM's test perplexity is 2^{runs['lstm']['test']:.3f} = "
      f"{2 ** runs['lstm']['test']:.2f}: as unsure as a uniform choice among that many "
      f"characters (the n-gram's: {2 ** best_ngram_test:.2f}; uniform: {V})")
beats = {cell: run["val"] < best_ngram_val and run["test"] < best_ngram_test
         for cell, run in runs.items()}
print("below the best n-gram on both validation and test: "
      + ", ".join(f"{names[cell]} {'yes' if beats[cell] else 'no'}" for cell in runs))
early = min(3, min(run["history"].epochs for run in runs.values()))
ahead = min(runs, key=lambda cell: runs[cell]["history"]["val_bpc"][early - 1])
print(f"lowest validation score after epoch {early}: {names[ahead]}; best epoch of each: "
      + ", ".join(f"{names[cell]} {run['best_epoch']} (of {run['history'].epochs} run)"
                  for cell, run in runs.items()))
for cell, run in runs.items():
    SUMMARY[f"{names[cell]}, validation / test (best of {run['history'].epochs} epochs)"] = (
        f"{run['val']:.4f} / {run['test']:.4f}")
SUMMARY["LSTM's margin below the best n-gram, validation / test"] = (
    f"{margin_val:.4f} / {margin_test:.4f}")
SUMMARY["training time, LSTM / GRU / tanh RNN"] = " / ".join(
    f"{runs[cell]['seconds']:.0f} s" for cell in runs)

fig, ax = plt.subplots(figsize=(8, 4.6))
colors = {"lstm": "tab:orange", "gru": "tab:green", "rnn": "tab:blue"}
for cell, run in runs.items():
    ax.plot(np.arange(1, run["history"].epochs + 1), run["history"]["val_bpc"], marker="o",
            color=colors[cell], label=f"{names[cell]}, validation")
finish_epoch_plot(fig, ax, "validation bits per character",
                  "Same recipe, three cells: which curves get below the n-gram line, and how "
                  "fast?", "cells_against_ngram.png")

# %% [markdown]
# The table holds the whole comparison, on validation (which chose the stopping epoch)
# and on test (touched only here), and the lines under it say which networks beat the
# best counting model and by how much the LSTM does. Whatever the margin, it is small
# next to the distance from a uniform guess, and that is itself a lesson: the Sonnets are
# a small corpus (its size is printed in section 1), and with that little text a
# well-smoothed n-gram is hard to beat. The network's advantages, a memory longer than a
# few characters and knowledge shared across similar contexts, pay off more the more
# text it reads.
#
# The curves show how the three cells differ, and the last printed line sums them up:
# which cell was ahead after the first epochs, and where each stopped improving. A GRU
# has three blocks of gate weights to the LSTM's four, so fewer parameters at the same
# width; it often learns faster at first, and may also start to memorise its training
# sonnets sooner, which early stopping catches. The recipe was tuned on the LSTM, and the
# GRU may prefer more dropout (try it). The tanh RNN, with the same number of units and
# the same budget, is expected to learn slowest, as lesson 14's vanishing gradients
# predict: its state cannot hold on to what it read many steps back, which leaves it
# little that an n-gram does not have.
#
# ## 6. What the network expects, character by character
#
# Bits per character are an average. To see where the bits go, we take one line of a
# test sonnet, let the LSTM read the sonnet up to that line, and draw the distribution it
# predicts for every character of the line before reading it. The white boxes mark the
# character that actually came.

# %%
test_sonnet = parts["test"].split("\n\n")[0]
lines = test_sonnet.split("\n")
LINE = 2 if len(lines) > 2 else 0  # the third line: some context read before it
start = sum(len(line) + 1 for line in lines[:LINE])  # where the line begins in the sonnet
end = start + len(lines[LINE]) + 1  # the line and its closing newline
context = vocab.encode(test_sonnet[:end])
probabilities = lstm.next_char_probabilities(context[:-1])  # row t forecasts context[t+1]
forecasts = probabilities[start - 1:end - 1]  # (columns, V): one per character of the line
truth = context[start:end]
lstm_bits = -np.log2(forecasts[np.arange(len(truth)), truth])
ngram_bits = -best_ngram.log_probs(context)[start:end]
print(f"the line: {lines[LINE]!r}")
print(f"its cost: LSTM {lstm_bits.mean():.3f} bits/char, {best_n}-gram "
      f"{ngram_bits.mean():.3f} bits/char")

# The rows: every character that came, then the most probable others, up to 22 in all.
shown = list(dict.fromkeys(truth.tolist()))
for character in np.argsort(-forecasts.max(axis=0)):
    if len(shown) >= 22:
        break
    if character not in shown:
        shown.append(int(character))
shown = sorted(shown)  # vocabulary order: newline, space, punctuation, capitals, letters
label = {"\n": "\u21b5", " ": "\u2423"}  # the newline and the space, drawn visibly


def glyphs(characters: str) -> list[str]:
    return [label.get(c, c) for c in characters]


fig, (top, heat) = plt.subplots(2, 1, figsize=(12, 7.5), sharex=True,
                                gridspec_kw={"height_ratios": [1, 3]})
columns = np.arange(len(truth))
top.bar(columns - 0.2, lstm_bits, width=0.4, color="tab:orange", label="LSTM")
top.bar(columns + 0.2, ngram_bits, width=0.4, color="0.55", label=f"{best_n}-gram")
top.set(ylabel="cost of the true\ncharacter (bits)",
        title="Before each character of a held-out line, what does the LSTM expect? "
              "Sure inside words (one bright cell),\nunsure at the start of a word; "
              "the boxes mark what came, the bars what it cost")
top.legend(fontsize=8)
top.grid(axis="y", alpha=0.3)
image = heat.imshow(forecasts[:, shown].T, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                    interpolation="nearest")
rows = {character: row for row, character in enumerate(shown)}
for column, character in enumerate(truth):
    heat.add_patch(plt.Rectangle((column - 0.5, rows[character] - 0.5), 1, 1, fill=False,
                                 edgecolor="white", linewidth=1.5))
heat.set_yticks(range(len(shown)), glyphs(vocab.decode(np.array(shown))))
heat.set_xticks(columns, glyphs(vocab.decode(truth)))
heat.set(xlabel="the line, one column per character (the forecast made before reading it)",
         ylabel="next character")
fig.colorbar(image, ax=[top, heat], label="p(next character) predicted by the LSTM",
             shrink=0.7)
print("saved", viz.save_figure(fig, FIGURES / "next_character_distribution.png"))

# %% [markdown]
# The picture shows where a language model's bits go. Inside a word, after the first two
# or three letters, one cell of the column is bright and the box sits on it: the rest of
# the word costs almost nothing. The expensive characters are the first letters of words,
# where the column spreads its probability over many rows, and it is there that a model
# that understood the sentence would gain. The bars compare the LSTM's cost with the
# n-gram's for the same characters: where the LSTM pays less, its longer memory (the
# rhyme and metre of the lines before, a word begun further back than four characters)
# is at work; where it pays more, the counts of the training text were the better guide.
# On one line the two can come out close; the average over all the test sonnets is the
# number in the table of section 5.
#
# ## Summary
#
# * A character-level language model is judged by its bits per character on held-out
#   text, against a uniform guess ($\log_2 V$) and a counting baseline, the Kneser–Ney
#   n-gram.
# * Truncated BPTT trains on a long text in pieces: the state is carried across batches,
#   detached, so context flows forward while gradients stop at the batch boundary.
# * The LSTM's samples go from noise to English words and line structure as it trains:
#   the lecture's "train more", with its numbers beside it. Early stopping on the
#   validation score picks the weights.
# * Temperature trades safety for variety when sampling; it does not change the model.
# * With the same recipe the LSTM, the GRU and the tanh RNN are ranked on held-out
#   sonnets beside the n-grams; the table of section 5 says which of them beat the best
#   n-gram, and by how much the LSTM does.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/15_char_rnn_sonnets.py` holds three exercises: `bits_per_char`, from a model's
# logits and the true characters; `temperature_softmax`, the sampling distribution, which
# must stay finite for logits near 1000; and `bigram_counts_probabilities`, the add-k
# bigram table, checked against `models.NGramModel`. Fill them in and run
# `scratchnet check 15` (`--file my_copy.py` grades another file). Each failure says which
# number is wrong, what was expected, and gives a hint. Reference solutions are in
# `exercises/solutions/`.
