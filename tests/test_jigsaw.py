"""models.jigsaw: the jigsaw puzzle pretext task (Noroozi & Favaro, 2016), its permutation set."""

import itertools
import math
import time

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.models.jigsaw import JigsawPuzzle, min_hamming_distance, permutation_set


def tile_encoder(n_features: int = 16, seed: int = 0) -> nn.Module:
    """A small encoder of 14 × 14 tiles (a 28 × 28 digit cut 2 × 2)."""
    return nn.Sequential(nn.Conv2D(1, 8, 3, stride=2, padding=1, activation="relu", rng=seed),
                         nn.Flatten(), nn.Dense(8 * 7 * 7, n_features, rng=seed + 1))


def flat_puzzle(grid: int = 2, tile_pixels: int = 4, n_features: int = 3, **kwargs
                ) -> JigsawPuzzle:
    """A puzzle whose encoder is one Dense layer on the flattened tile."""
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(tile_pixels, n_features, rng=0))
    return JigsawPuzzle(encoder, n_features, grid=grid, **kwargs)


def brute_force_min_distance(perms: np.ndarray) -> int:
    return min(int((a != b).sum()) for a, b in itertools.combinations(perms, 2))


# ---- the permutation set -------------------------------------------------------------------

def test_permutation_set_rows_are_distinct_permutations_with_the_reported_distance():
    for n_tiles, n in [(3, 4), (4, 10), (4, 24), (9, 30)]:
        perms = permutation_set(n_tiles, n, rng=n)
        assert perms.shape == (n, n_tiles) and perms.dtype == np.int64
        np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(n_tiles), (n, 1)))
        assert len({tuple(p) for p in perms}) == n
        assert min_hamming_distance(perms) == brute_force_min_distance(perms)
    # All 24 orders of 4 tiles: the closest two differ by one swap.
    assert len({tuple(p) for p in permutation_set(4, 24, rng=0)}) == 24
    assert min_hamming_distance(permutation_set(4, 24, rng=0)) == 2


def test_greedy_set_reaches_the_best_min_distance_found_by_brute_force():
    for n_tiles, sizes in [(3, range(2, 7)), (4, [2, 3, 4])]:
        everything = np.array(list(itertools.permutations(range(n_tiles))))
        for n in sizes:
            best = max(brute_force_min_distance(everything[list(subset)])
                       for subset in itertools.combinations(range(len(everything)), n))
            for seed in range(5):
                assert min_hamming_distance(permutation_set(n_tiles, n, rng=seed)) == best
    # Beyond 12 of 4 tiles, two must differ by a single swap (12 is the most at distance 3).
    assert min_hamming_distance(permutation_set(4, 13, rng=0)) == 2
    # Greedy is not optimal everywhere, as the docstring says: 8 permutations of 4 tiles can
    # keep 3 apart (the even ones do), but some starting points end at 2.
    even = [p for p in itertools.permutations(range(4))
            if sum(a > b for a, b in itertools.combinations(p, 2)) % 2 == 0]
    assert brute_force_min_distance(np.array(even[:8])) == 3
    reached = {min_hamming_distance(permutation_set(4, 8, rng=seed)) for seed in range(20)}
    assert reached == {2, 3}


def test_permutation_set_is_seeded_and_fast_for_a_three_by_three_grid():
    start = time.perf_counter()
    perms = permutation_set(9, 100, rng=1)
    seconds = time.perf_counter() - start
    assert seconds < 3, seconds
    # Measured 0.2 s (9! = 362,880 candidates), with a minimum distance of 6 of 9.
    assert min_hamming_distance(perms) >= 5
    np.testing.assert_array_equal(permutation_set(9, 100, rng=1), perms)
    # The first permutation and the ties come from the generator: another seed, another set.
    assert not np.array_equal(permutation_set(9, 100, rng=2), perms)
    assert not np.array_equal(permutation_set(4, 24, rng=1), permutation_set(4, 24, rng=2))


def test_the_default_sets_are_all_24_for_two_by_two_and_the_papers_1000_for_three_by_three():
    assert flat_puzzle(grid=2).n_permutations == 24
    model = flat_puzzle(grid=3, tile_pixels=1, rng=0)
    assert model.permutations.shape == (1000, 9) and model.head[1].weight.shape == (256, 1000)
    assert len({tuple(p) for p in model.permutations}) == 1000
    # Measured: every two of the thousand differ in at least 5 of the 9 positions.
    assert model.min_hamming_distance >= 5
    x = np.random.default_rng(0).random((5, 1, 3, 3)).astype(np.float32)
    tiles, labels = model.shuffled_batch(x, rng=0)
    assert tiles.shape == (5, 9, 1, 1, 1)
    np.testing.assert_array_equal(model.assemble(model.unshuffle(tiles, labels)).data, x)
    assert np.isfinite(model.loss(x).item())


def test_permutation_set_and_min_distance_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"permutation_set: n_permutations .*between 2 and 24.*25"):
        permutation_set(4, 25)
    with pytest.raises(ValueError, match=r"permutation_set: n_permutations .*got 1"):
        permutation_set(4, 1)
    with pytest.raises(ValueError, match=r"permutation_set: n_tiles .*between 2 and 9.*got 16"):
        permutation_set(16, 10)
    with pytest.raises(ValueError, match=r"min_hamming_distance: .*two permutations.*\(1, 4\)"):
        min_hamming_distance(np.arange(4)[None])
    with pytest.raises(ValueError, match=r"min_hamming_distance: .*permutation of 0 … 2, "
                                         r"got row 1 = \[0, 0, 2\]"):
        min_hamming_distance(np.array([[0, 1, 2], [0, 0, 2]]))


# ---- cutting, shuffling and putting back -----------------------------------------------------

def test_tiles_are_row_major_blocks_and_assemble_gives_the_image_back():
    x = np.arange(2 * 3 * 6 * 9, dtype=np.float32).reshape(2, 3, 6, 9)
    model = flat_puzzle(grid=3, tile_pixels=3 * 2 * 3)
    tiles = model.tiles(x)
    assert isinstance(tiles, sn.Tensor) and tiles.shape == (2, 9, 3, 2, 3)
    for r, c in itertools.product(range(3), range(3)):
        np.testing.assert_array_equal(tiles.data[:, 3 * r + c],
                                      x[:, :, 2 * r:2 * r + 2, 3 * c:3 * c + 3])
    np.testing.assert_array_equal(model.assemble(tiles).data, x)
    digits = load_mnist("train", source="bundled")[0][:4]
    two = flat_puzzle(grid=2, tile_pixels=196)
    np.testing.assert_array_equal(two.assemble(two.tiles(digits)).data, digits)


def test_shuffle_follows_the_convention_and_unshuffle_undoes_it():
    model = flat_puzzle(grid=2, tile_pixels=4, rng=0)
    x = np.random.default_rng(0).random((24, 1, 4, 4)).astype(np.float32)
    tiles = model.tiles(x)
    labels = np.arange(24)   # every permutation once
    shuffled = model.shuffle(tiles, labels)
    for n in range(24):
        perm = model.permutations[labels[n]]
        for i in range(4):   # position i holds tile perm[i]
            np.testing.assert_array_equal(shuffled.data[n, i], tiles.data[n, perm[i]])
    np.testing.assert_array_equal(model.unshuffle(shuffled, labels).data, tiles.data)
    # Only the identity leaves the image as it was.
    moved = [not np.array_equal(model.assemble(shuffled).data[n], x[n]) for n in range(24)]
    assert sum(moved) == 23


def test_shuffled_batch_draws_labels_reproducibly_and_each_puzzle_unshuffles_to_its_image():
    model = flat_puzzle(grid=2, tile_pixels=4, rng=0)
    x = np.random.default_rng(1).random((200, 1, 4, 4)).astype(np.float32)
    tiles, labels = model.shuffled_batch(x, rng=3)
    assert tiles.shape == (200, 4, 1, 2, 2) and tiles.creator is None
    assert labels.shape == (200,) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < 24 and len(np.unique(labels)) > 15
    np.testing.assert_array_equal(model.assemble(model.unshuffle(tiles, labels)).data, x)
    again, same_labels = model.shuffled_batch(x, rng=3)
    np.testing.assert_array_equal(same_labels, labels)
    np.testing.assert_array_equal(again.data, tiles.data)
    # Without a seed the model's generator moves on.
    assert not np.array_equal(model.shuffled_batch(x)[1], model.shuffled_batch(x)[1])


def test_jitter_shifts_each_training_tile_but_not_the_features():
    x = np.random.default_rng(2).random((6, 1, 8, 8)).astype(np.float32) + 0.5
    plain = flat_puzzle(grid=2, tile_pixels=16, rng=0)
    jittered = flat_puzzle(grid=2, tile_pixels=16, jitter=1, rng=0)
    exact, labels = plain.shuffled_batch(x, rng=4)
    shifted, same_labels = jittered.shuffled_batch(x, rng=4)
    np.testing.assert_array_equal(same_labels, labels)
    assert not np.array_equal(shifted.data, exact.data)
    # Each jittered tile is its exact tile moved by at most one pixel per axis, zero filled.
    for n, i in itertools.product(range(6), range(4)):
        tile, moved = exact.data[n, i, 0], shifted.data[n, i, 0]
        padded = np.pad(tile, 1)
        assert any(np.array_equal(moved, padded[1 + dy:5 + dy, 1 + dx:5 + dx])
                   for dy, dx in itertools.product((-1, 0, 1), repeat=2))
    np.testing.assert_array_equal(jittered.features(x).data, plain.features(x).data)
    with pytest.raises(ValueError, match="JigsawPuzzle: jitter"):
        flat_puzzle(jitter=-1)


# ---- the network -------------------------------------------------------------------------------

def test_encoder_sees_all_tiles_in_one_call_and_loss_is_cross_entropy_of_the_head():
    model = JigsawPuzzle(tile_encoder(), 16, hidden=32, rng=1)
    assert [layer.weight.shape for layer in model.head] == [(64, 32), (32, 24)]
    batches = []
    model.encoder.register_forward_hook(lambda m, inputs, out: batches.append(inputs[0].shape))
    x = load_mnist("train", source="bundled")[0][:5]
    tiles, labels = JigsawPuzzle(tile_encoder(), 16, hidden=32, rng=1).shuffled_batch(x)
    logits = model(tiles)
    assert batches == [(20, 1, 14, 14)] and logits.shape == (5, 24)
    scores = logits.data.astype(np.float64)
    log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(5), labels].mean()
    loss = model.loss(x)   # the model's generator, seeded the same: the same puzzles
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    loss.backward()
    assert all(p.grad is not None and np.abs(p.grad.data).sum() > 0
               for p in model.parameters())


def test_features_are_the_tiles_features_in_their_correct_order():
    encoder = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Dense(4, 3, rng=0))
    model = JigsawPuzzle(encoder, 3, grid=2, rng=0)
    x = np.random.default_rng(5).random((7, 1, 4, 4)).astype(np.float32)
    features = model.features(x)
    assert isinstance(features, sn.Tensor) and features.shape == (7, 12)
    assert features.creator is None and not features.requires_grad
    model.eval()
    tiles = model.tiles(x).data
    for i in range(4):   # block i of the features is the encoder's view of tile i
        np.testing.assert_allclose(features.data[:, 3 * i:3 * i + 3],
                                   encoder(tiles[:, i]).data, rtol=1e-6)
    model.train()
    # Dropout is off in features (the same twice) and the training flags come back.
    np.testing.assert_array_equal(model.features(x).data, features.data)
    assert model.training and encoder[1].training
    # A shuffled image put back in order is the same image, with the same features; the
    # shuffled image itself reads differently.
    shuffled, labels = model.shuffled_batch(x, rng=0)
    solved = model.assemble(model.unshuffle(shuffled, labels))
    np.testing.assert_array_equal(model.features(solved).data, features.data)
    moved = labels != np.flatnonzero((model.permutations == np.arange(4)).all(axis=1))[0]
    assert moved.any()
    assert not np.allclose(model.features(model.assemble(shuffled)).data[moved],
                           features.data[moved])


def test_jigsaw_learns_to_solve_mnist_puzzles_well_above_chance():
    sn.manual_seed(0)
    images, _ = load_mnist("train", source="bundled")
    train, held_out = images[:512], images[3000:3256]
    model = JigsawPuzzle(tile_encoder(), 16, rng=3)
    assert model.n_permutations == 24 and model.min_hamming_distance == 2
    assert model.accuracy(held_out) < 0.15   # untrained: near chance, 1/24
    start = time.perf_counter()
    history = sn.train.fit(model, lambda m, x: m.loss(x),
                           sn.optim.Adam(model.parameters(), lr=3e-3),
                           DataLoader(train, batch_size=64, shuffle=True, rng=0), epochs=3,
                           progress=False)
    seconds = time.perf_counter() - start
    accuracy = model.accuracy(held_out)
    # Measured 0.91 held out for these seeds (0.63 to 0.96 over five seeds), 3 epochs of
    # 512 digits in under a second on two cores once warm; chance is 1/24 ≈ 0.04.
    assert accuracy > 0.6, accuracy
    assert history["loss"][-1] < 0.5 * math.log(24)
    assert seconds < 30
    assert model.accuracy(held_out) == accuracy   # the default seed: the same puzzles
    # The solved puzzles: where the label is right, the tiles are back in their places.
    tiles, labels = model.shuffled_batch(held_out, rng=9)
    solved, predicted = model.solve(tiles)
    right = predicted == labels
    assert right.mean() > 0.6
    np.testing.assert_array_equal(model.assemble(solved).data[right], held_out[right])


def test_save_and_load_keep_the_permutation_set(tmp_path):
    x = load_mnist("train", source="bundled")[0][:8]
    model = JigsawPuzzle(tile_encoder(), 16, n_permutations=10, rng=0)
    other = JigsawPuzzle(tile_encoder(seed=5), 16, n_permutations=10, rng=1)
    assert not np.array_equal(other.permutations, model.permutations)
    assert "permutations" in model.state_dict()
    sn.load(other, sn.save(model, tmp_path / "jigsaw.npz"))
    np.testing.assert_array_equal(other.permutations, model.permutations)
    assert other.min_hamming_distance == model.min_hamming_distance
    tiles, _ = model.shuffled_batch(x, rng=0)
    np.testing.assert_array_equal(other.predict(tiles), model.predict(tiles))
    np.testing.assert_array_equal(other.features(x).data, model.features(x).data)


def test_jigsaw_rejects_bad_input():
    model = flat_puzzle(grid=2, tile_pixels=4)
    with pytest.raises(ValueError, match=r"JigsawPuzzle: .*\(N, C, H, W\).*\(2, 16\)"):
        model.loss(np.zeros((2, 16), dtype=np.float32))
    with pytest.raises(ValueError, match=r"JigsawPuzzle: .*divisible by grid = 2.*4 × 5"):
        model.loss(np.zeros((2, 1, 4, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"JigsawPuzzle: .*\(N, 4, C, h, w\).*\(2, 9, 1, 2, 2\)"):
        model.predict(np.zeros((2, 9, 1, 2, 2), dtype=np.float32))
    tiles = model.tiles(np.zeros((2, 1, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"JigsawPuzzle: labels must lie in \[0, 24\).*24"):
        model.unshuffle(tiles, np.array([0, 24]))
    with pytest.raises(ValueError, match=r"JigsawPuzzle: expected \(2,\) integer labels"):
        model.shuffle(tiles, np.array([0.0, 1.0]))
    wrong_width = JigsawPuzzle(nn.Sequential(nn.Flatten(), nn.Dense(4, 3)), 5)
    with pytest.raises(ValueError, match=r"JigsawPuzzle: .*\(8, 5\), got \(8, 3\)"):
        wrong_width.features(np.zeros((2, 1, 4, 4), dtype=np.float32))
    with pytest.raises(TypeError, match=r"JigsawPuzzle: encoder must be an nn\.Module"):
        JigsawPuzzle(lambda x: x, 3)
    with pytest.raises(ValueError, match=r"JigsawPuzzle: n_permutations .*between 2 and 24.*25"):
        flat_puzzle(n_permutations=25)
    with pytest.raises(ValueError, match=r"JigsawPuzzle: n_permutations .*got 1"):
        flat_puzzle(n_permutations=1)
    with pytest.raises(ValueError, match=r"JigsawPuzzle: grid .*between 2 and 3.*got 4"):
        flat_puzzle(grid=4)
    with pytest.raises(ValueError, match="JigsawPuzzle: n_features"):
        JigsawPuzzle(nn.Flatten(), 0)
