/**
 * Host-side data for fine-tuning: data sets, transforms, seeded batch loading and transfer tasks.
 *
 * <ul>
 * <li>{@link io.trady4j.data.Dataset}: labelled images as CHW floats in [0, 1]; readers
 * {@link io.trady4j.data.Idx} (MNIST/Fashion-MNIST), {@link io.trady4j.data.Cifar} (CIFAR-10/100
 * binary), {@link io.trady4j.data.ImageFolder} (class per sub-folder) and
 * {@link io.trady4j.data.Letters} (glyphs A–J rendered from installed fonts). Malformed files are
 * {@link io.trady4j.io.FormatException}s, missing data sets
 * {@link io.trady4j.data.DatasetMissingException}s that say how to get them.</li>
 * <li>{@link io.trady4j.data.Transform}: resize, channel conversion, random crop and flip,
 * normalisation; augmentation depends only on (seed, epoch, sample index).</li>
 * <li>{@link io.trady4j.data.Loader}: per-epoch seeded shuffling, batches as {@code float[]} NCHW
 * plus {@code int[]} labels, prepared one batch ahead on a background thread.</li>
 * <li>{@link io.trady4j.data.Tasks}: {@code fmnist:0-4}, {@code cifar10:DIR:0,1}, {@code folder:DIR},
 * {@code letters:A-E}, ... parsed into a {@link io.trady4j.data.Task}.</li>
 * </ul>
 *
 * <pre>{@code
 * Task task = Tasks.parse("fmnist:5-9");
 * try (Loader train = Loader.builder(task.train(), task.trainTransform(32, 3)).batchSize(128).seed(seed).build();
 *      Loader.Epoch it = train.epoch(epoch)) {
 *     while (it.hasNext()) { Batch b = it.next(); step(b.images(), b.labels(), b.size()); }
 * }
 * }</pre>
 */
package io.trady4j.data;
