// The package's types need no DOM and no Node types: a Node or worker project compiling with
// lib ES2022 alone (tsconfig.nodom.json) type-checks a use of every part of the API.
import { createBackend, nn, type Backend, type Tensor } from 'cnn-wasm';
import { toONNX } from 'cnn-wasm/onnx';

export async function everything(): Promise<number> {
  const be: Backend = await createBackend('wasm', { threads: 'auto', memory: { initial: 1 << 20 } });
  const x: Tensor<'float32'> = be.tensor([1, 4, 4, 1]);
  const { Z, cache } = be.convForward(x, be.tensor([3, 3, 1, 2]), be.tensor([1, 1, 1, 2]), { stride: 1, pad: 'same', activation: 'relu' });
  const { dA } = be.convBackward(Z, cache);
  const pixels = be.toPixels(be.reshape(x, [4, 4, 1]));
  const model = nn.sequential(be, [nn.flatten(), nn.dense({ units: 2 })], { inputShape: [4, 4, 1] });
  const bytes: Uint8Array = toONNX(model);
  const threads: number = be.features.threads;
  be.dispose();
  return dA.size + pixels.width + bytes.length + threads;
}
