// The messages between the page (main.ts) and the training worker (worker.ts).
import type { nn } from 'cnn-wasm';

/** What the page asks for; read from its URL (?trainSize=1000&epochs=1&backend=js ...). */
export interface Settings {
  /** Where digits.bin is (the worker's own URL is elsewhere). */
  digitsUrl: string;
  /** Training digits used, the first of the 8,000 (8000). */
  trainSize: number;
  /** Held-out digits evaluated after each epoch (2000). */
  valSize: number;
  /** Epochs to train before stopping (10); resume trains as many again. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  backend: 'wasm' | 'js';
  simd: 'auto' | 'relaxed' | 'plain';
  /** Steps between snapshots of the filters and feature maps (50). */
  vizEvery: number;
}

export type ToWorker =
  | { type: 'init'; settings: Settings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' }
  /** 784 pixels in [0, 1], a 28x28 digit; answered with 'prediction'. */
  | { type: 'predict'; id: number; pixels: Float32Array }
  /** Show the feature maps of another held-out digit. */
  | { type: 'sample'; index: number }
  /** The model as model.save() gives it; answered with 'saved'. */
  | { type: 'save' };

export type RunState = 'loading' | 'running' | 'paused' | 'done';

/** One layer's output for the sample digit: a picture per channel. */
export interface LayerMaps {
  name: string;
  /** (h, w, channels) */
  shape: number[];
  maps: ImageData[];
}

export type FromWorker =
  | { type: 'ready'; backend: string; build: string; threads: number; isolated: boolean; trainSize: number; valSize: number; batchesPerEpoch: number; summary: string }
  | { type: 'state'; state: RunState; epochs: number }
  /** Every 10 steps: the mean loss of those steps, the accuracy of the last sampled batches, the rate. */
  | { type: 'progress'; step: number; epoch: number; batch: number; loss: number; accuracy: number | null; stepsPerSecond: number }
  | { type: 'epoch'; step: number; epoch: number; valLoss: number; valAccuracy: number; seconds: number }
  | {
    type: 'viz'; step: number;
    /** The first layer's filters, one picture each (gray is 0, white positive, black negative). */
    filters: ImageData[];
    sample: { index: number; label: number; input: ImageData; layers: LayerMaps[]; probabilities: number[] };
  }
  | { type: 'prediction'; id: number; step: number; probabilities: number[] }
  | { type: 'saved'; step: number; saved: nn.SavedModel }
  | { type: 'reset' }
  | { type: 'error'; message: string };
