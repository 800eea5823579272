// Builds one-node ONNX models (Conv, MaxPool, AveragePool, Pad) as protobuf bytes, so the benchmark
// can run ONNX Runtime on the same layers without Python or model files. Only the fields these
// models need are written (onnx.proto: ModelProto, GraphProto, NodeProto, TensorProto, ...).
// ONNX is NCHW: inputs are (m, C, H, W) and the filter (N, C, fH, fW).

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;
const ATTR_STRING = 3;

/** A protobuf message under construction. */
class Message {
  bytes = [];
  varint(n) {
    let v = BigInt(n);
    if (v < 0n) v += 1n << 64n; // two's complement for negative int64
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      this.bytes.push(byte);
    } while (v);
    return this;
  }
  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }
  int(field, n) {
    return this.tag(field, 0).varint(n);
  }
  raw(field, bytes) {
    this.tag(field, 2).varint(bytes.length);
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  string(field, s) {
    return this.raw(field, new TextEncoder().encode(s));
  }
  message(field, m) {
    return this.raw(field, m.bytes);
  }
}

function valueInfo(name, shape) {
  const dims = new Message();
  for (const d of shape) dims.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, FLOAT).message(2, dims);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

function initializer(name, shape, dataType, bytes) {
  const t = new Message();
  for (const d of shape) t.int(1, d);
  return t.int(2, dataType).string(8, name).raw(9, bytes);
}

function attribute(name, value) {
  const a = new Message().string(1, name);
  if (typeof value === 'string') return a.raw(4, new TextEncoder().encode(value)).int(20, ATTR_STRING);
  if (Array.isArray(value)) {
    for (const v of value) a.int(8, v);
    return a.int(20, ATTR_INTS);
  }
  return a.int(3, value).int(20, ATTR_INT);
}

/**
 * A model of one node. `inputs`: [{ name, shape }] fed at run time; `weights`: [{ name, shape,
 * data: Float32Array | BigInt64Array }] stored in the model; `attributes`: { name: int | int[] | string }.
 */
export function oneNodeModel({ opType, inputs, weights = [], output, attributes = {} }) {
  const node = new Message();
  for (const i of [...inputs, ...weights]) node.string(1, i.name);
  node.string(2, output.name).string(3, 'node').string(4, opType);
  for (const [k, v] of Object.entries(attributes)) node.message(5, attribute(k, v));
  const graph = new Message().message(1, node).string(2, 'graph');
  for (const w of weights) {
    const isInt = w.data instanceof BigInt64Array;
    graph.message(5, initializer(w.name, w.shape, isInt ? INT64 : FLOAT, new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  }
  for (const i of inputs) graph.message(11, valueInfo(i.name, i.shape));
  graph.message(12, valueInfo(output.name, output.shape));
  const opset = new Message().string(1, '').int(2, 17);
  const model = new Message().int(1, 8).message(8, opset).string(2, 'cnn-wasm-bench').message(7, graph);
  return Uint8Array.from(model.bytes);
}
