// nn: layers, a sequential model, optimizers: the course's Keras ConvNet in JavaScript, a thin shell
// over the ops.
export { averagePool2d, conv2d, dense, flatten, maxPool2d, relu } from './layers.js';
export type { Conv2dConfig, DenseConfig, FlattenConfig, LayerConfig, PoolConfig, ReluConfig } from './layers.js';
export { load, sequential, Sequential } from './model.js';
export type { BatchLogs, EpochLogs, FitOptions, History, SavedModel } from './model.js';
export { adam, sgd } from './optimizers.js';
export type { OptimizerConfig } from './optimizers.js';
