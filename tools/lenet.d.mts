// Types of lenet.mjs for the tests (TypeScript).
import type { AdamState, Backend, ConvCache, DType, DenseCache, PoolCache, Tensor } from '../src/index.js';

export type Name = 'W1' | 'b1' | 'W2' | 'b2' | 'W3' | 'b3';
export const BATCH: number;
export const SHAPES: Record<Name, number[]>;
export const NAMES: Name[];
export function stepFlops(batch?: number): number;
export function lenetData(seed: number, batch?: number): { weights: Record<Name, Float32Array>; images: Float32Array; labels: number[] };
export function lenetParams(be: Backend, weights: Record<Name, Float32Array>, dtype?: DType): Record<Name, Tensor>;
export interface LenetStep {
  loss: number;
  grads: Record<Name, Tensor>;
  caches: { c1: ConvCache; p1: PoolCache; c2: ConvCache; p2: PoolCache; d: DenseCache };
  probs: Tensor | null;
}
export function lenetForwardBackward(be: Backend, params: Record<Name, Tensor>, x: Tensor, labels: number[], options?: { probs?: boolean }): LenetStep;
export function lenetTrainStep(be: Backend, params: Record<Name, Tensor>, state: AdamState, x: Tensor, labels: number[], learningRate?: number): number;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function tfjsLenetLoss(tf: any, x: any, oneHot: any): (...params: any[]) => any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function tfjsLenetParams(tf: any, weights: Record<Name, Float32Array>): any[];
