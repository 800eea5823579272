// The training chart (uPlot): the mean loss of every 10 steps and the running training accuracy
// against the step, and the held-out accuracy after each epoch.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export class TrainingChart {
  readonly #plot: uPlot;
  #steps: number[] = [];
  #loss: (number | null)[] = [];
  #accuracy: (number | null)[] = [];
  #valAccuracy: (number | null)[] = [];
  #pending = false;

  constructor(target: HTMLElement) {
    const percent = (_u: uPlot, v: number | null) => (v == null ? '–' : `${v.toFixed(1)}%`);
    this.#plot = new uPlot({
      width: Math.max(280, target.clientWidth),
      height: 240,
      scales: { x: { time: false }, loss: { range: (_u, _min, max) => [0, Math.max(0.5, max)] }, '%': { range: [0, 100] } },
      axes: [
        { label: 'step', size: 36 },
        { scale: 'loss', label: 'loss', size: 48 },
        { scale: '%', side: 1, label: 'accuracy %', size: 48, grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        { label: 'training loss', scale: 'loss', stroke: '#c0392b', width: 1.5, spanGaps: true, points: { show: false }, value: (_u, v) => (v == null ? '–' : v.toFixed(3)) },
        { label: 'training accuracy', scale: '%', stroke: '#7fb3d5', width: 1, spanGaps: true, points: { show: false }, value: percent },
        { label: 'held-out accuracy', scale: '%', stroke: '#1a5276', width: 2, spanGaps: true, points: { show: true, size: 7 }, value: percent },
      ],
    }, [[], [], [], []], target);
    new ResizeObserver(() => this.#plot.setSize({ width: Math.max(280, target.clientWidth), height: 240 })).observe(target);
  }

  /** The row of `step` (the last one, or a new one). */
  #row(step: number): number {
    const last = this.#steps.length - 1;
    if (last >= 0 && this.#steps[last] === step) return last;
    this.#steps.push(step);
    this.#loss.push(null);
    this.#accuracy.push(null);
    this.#valAccuracy.push(null);
    return last + 1;
  }

  addTraining(step: number, loss: number, accuracy: number | null): void {
    const i = this.#row(step);
    this.#loss[i] = loss;
    this.#accuracy[i] = accuracy == null ? null : accuracy * 100;
    this.#redraw();
  }

  addValidation(step: number, accuracy: number): void {
    this.#valAccuracy[this.#row(step)] = accuracy * 100;
    this.#redraw();
  }

  clear(): void {
    this.#steps = [];
    this.#loss = [];
    this.#accuracy = [];
    this.#valAccuracy = [];
    this.#redraw();
  }

  /** One setData per animation frame, however many points came. */
  #redraw(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#plot.setData([this.#steps, this.#loss, this.#accuracy, this.#valAccuracy] as uPlot.AlignedData);
    });
  }
}
