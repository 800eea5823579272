// The page: starts the training worker, shows what it reports (chart, figures, filters, feature
// maps), sends it the drawing to classify, and wires the buttons. Options come from the URL:
// ?trainSize=1000&valSize=2000&epochs=1&batchSize=32&learningRate=0.001&backend=js&simd=plain&vizEvery=50
import type { nn } from 'cnn-wasm';
import { TrainingChart } from './chart';
import { DrawingPad, showDigit } from './draw';
import type { FromWorker, LayerMaps, RunState, Settings, ToWorker } from './protocol';
import './style.css';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function readSettings(): Settings {
  const q = new URLSearchParams(location.search);
  const int = (name: string, fallback: number, min: number, max: number) => {
    const v = Number(q.get(name) ?? fallback);
    return Number.isInteger(v) ? Math.min(max, Math.max(min, v)) : fallback;
  };
  const lr = Number(q.get('learningRate') ?? 1e-3);
  const simd = q.get('simd');
  return {
    digitsUrl: new URL('digits.bin', document.baseURI).href,
    trainSize: int('trainSize', 8000, 1, 8000),
    valSize: int('valSize', 2000, 1, 2000),
    epochs: int('epochs', 10, 1, 1000),
    batchSize: int('batchSize', 32, 1, 1024),
    learningRate: Number.isFinite(lr) && lr > 0 ? lr : 1e-3,
    backend: q.get('backend') === 'js' ? 'js' : 'wasm',
    simd: simd === 'plain' || simd === 'relaxed' ? simd : 'auto',
    vizEvery: int('vizEvery', 50, 1, 100000),
  };
}

const settings = readSettings();
const chart = new TrainingChart($('chart'));
const pad = new DrawingPad($<HTMLCanvasElement>('pad'));
const seen = $<HTMLCanvasElement>('seen');
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
let batchesPerEpoch = 0;
let state: RunState = 'loading';

function say(text: string, error = false) {
  const m = $('message');
  m.textContent = text;
  m.classList.toggle('error', error);
  if (error) console.error(text);
}

function setState(next: RunState, epochs: number) {
  state = next;
  document.body.dataset['state'] = next;
  document.body.dataset['epochs'] = String(epochs);
  $<HTMLButtonElement>('pause').disabled = next !== 'running';
  $<HTMLButtonElement>('resume').disabled = next === 'running' || next === 'loading';
  $<HTMLButtonElement>('resume').textContent = next === 'done' ? `Train ${settings.epochs} more` : 'Resume';
  $<HTMLButtonElement>('reset').disabled = next === 'loading';
  $<HTMLButtonElement>('onnx').disabled = next === 'loading';
  if (next === 'running') say('Training…');
  else if (next === 'paused') say('Paused.');
  else if (next === 'done') say(`Done: ${epochs} epoch${epochs === 1 ? '' : 's'}. Draw a digit, or train more.`);
}

// probability bars of the drawing, and the text of its prediction
const bars = $('bars');
for (let d = 0; d < 10; d++) {
  bars.insertAdjacentHTML('beforeend', `<li><span class="digit">${d}</span><span class="bar"><span class="fill"></span></span><span class="p"></span></li>`);
}
let predictions = 0;
function showProbabilities(probabilities: number[] | null, step = 0) {
  const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  [...bars.children].forEach((li, d) => {
    const p = probabilities?.[d] ?? 0;
    (li.querySelector('.fill') as HTMLElement).style.width = `${(p * 100).toFixed(1)}%`;
    li.querySelector('.p')!.textContent = probabilities ? `${(p * 100).toFixed(p >= 0.995 || p < 0.005 ? 0 : 1)}%` : '';
    li.classList.toggle('best', d === best);
  });
  const predicted = $('predicted');
  predicted.textContent = best >= 0 ? String(best) : '–';
  predicted.dataset['class'] = best >= 0 ? String(best) : '';
  predicted.dataset['count'] = String(probabilities ? ++predictions : predictions);
  $('confidence').textContent = best >= 0 ? `${(probabilities![best]! * 100).toFixed(1)}% sure, weights of step ${step}` : 'draw a digit in the black square';
}
showProbabilities(null);

// the drawing's predictions: one request in flight at a time, the latest drawing sent when it returns
let inFlight = false, wanted = false, ready = false, throttle = 0;
function requestPrediction() {
  wanted = true;
  if (inFlight || !ready) return;
  wanted = false;
  const digit = pad.toDigit();
  showDigit(seen, digit);
  if (!digit) return showProbabilities(null);
  inFlight = true;
  send({ type: 'predict', id: predictions + 1, pixels: digit }, [digit.buffer]);
}
pad.onChange = (done) => {
  if (done) return requestPrediction();
  if (!throttle) throttle = window.setTimeout(() => ((throttle = 0), requestPrediction()), 60);
};
$('clear').addEventListener('click', () => {
  pad.clear();
  showDigit(seen, null);
  showProbabilities(null);
});
showDigit(seen, null);

// pictures: the first layer's filters and the sample's feature maps, canvases made once and redrawn
function paint(container: HTMLElement, images: ImageData[], px: number) {
  while (container.children.length > images.length) container.lastElementChild!.remove();
  images.forEach((image, i) => {
    let c = container.children[i] as HTMLCanvasElement | undefined;
    if (!c) {
      c = container.appendChild(document.createElement('canvas'));
      c.style.width = c.style.height = `${px}px`;
    }
    if (c.width !== image.width || c.height !== image.height) Object.assign(c, { width: image.width, height: image.height });
    c.getContext('2d')!.putImageData(image, 0, 0);
  });
}
/** Shown size of an h-pixel map: a whole multiple, 30 to 56 CSS pixels. */
const shown = (h: number) => Math.max(30, h * Math.floor(56 / h));

function showLayers(input: ImageData, layers: LayerMaps[]) {
  const root = $('layers');
  const rows = [{ name: 'input', shape: [input.height, input.width, 1], maps: [input] }, ...layers];
  while (root.children.length > rows.length) root.lastElementChild!.remove();
  rows.forEach((layer, i) => {
    let row = root.children[i] as HTMLElement | undefined;
    if (!row) {
      row = root.appendChild(document.createElement('div'));
      row.className = 'layer';
      row.innerHTML = '<h3></h3><div class="maps"></div>';
    }
    const [h, w, c] = layer.shape as [number, number, number];
    row.querySelector('h3')!.textContent = i === 0 ? `input, ${h}x${w}` : `after ${layer.name}: ${c} maps of ${h}x${w}`;
    paint(row.querySelector('.maps') as HTMLElement, layer.maps, shown(h));
  });
}

let sampleIndex = 0;
$('next-sample').addEventListener('click', () => send({ type: 'sample', index: ++sampleIndex }));

// download ONNX: the worker's model.save(), converted on this thread by cnn-wasm/onnx (loaded on first use)
let savedFor: ((saved: nn.SavedModel, step: number) => void) | null = null;
$('onnx').addEventListener('click', () => {
  const button = $<HTMLButtonElement>('onnx');
  button.disabled = true;
  savedFor = async (saved, step) => {
    try {
      const { toONNX } = await import('cnn-wasm/onnx');
      const bytes: Uint8Array = toONNX(saved as never);
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: `cnn-wasm-mnist-step-${step}.onnx` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      say(`Saved the model of step ${step} as ONNX (${(bytes.length / 1024).toFixed(0)} KiB).`);
    } catch (e) {
      say(`ONNX export failed: ${e instanceof Error ? e.message : e}`, true);
    } finally {
      button.disabled = state === 'loading';
    }
  };
  send({ type: 'save' });
});

$('pause').addEventListener('click', () => send({ type: 'pause' }));
$('resume').addEventListener('click', () => send({ type: 'resume' }));
$('reset').addEventListener('click', () => send({ type: 'reset' }));

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;
worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'ready':
      ready = true;
      batchesPerEpoch = m.batchesPerEpoch;
      $('backend').textContent = `${m.backend}, ${m.build}, ${m.threads} thread${m.threads === 1 ? '' : 's'}`;
      $('backend').title = m.isolated ? 'cross-origin isolated: threads run' : 'not cross-origin isolated: one thread';
      document.body.dataset['threads'] = String(m.threads);
      $('isolated').textContent = m.isolated ? 'yes' : 'no';
      $('data').textContent = `${m.trainSize.toLocaleString('en')} training digits, ${m.valSize.toLocaleString('en')} held out, batches of ${settings.batchSize}`;
      $('summary').textContent = m.summary;
      document.body.dataset['backend'] = m.backend;
      document.body.dataset['build'] = m.build;
      if (wanted) requestPrediction();
      break;
    case 'state':
      setState(m.state, m.epochs);
      break;
    case 'progress':
      chart.addTraining(m.step, m.loss, m.accuracy);
      $('epoch').textContent = `${m.epoch + 1} of ${settings.epochs}, batch ${m.batch} of ${batchesPerEpoch}`;
      $('step').textContent = String(m.step);
      $('rate').textContent = `${m.stepsPerSecond.toFixed(0)} (${(1000 / m.stepsPerSecond).toFixed(1)} ms a step)`;
      $('loss').textContent = m.loss.toFixed(3);
      $('accuracy').textContent = m.accuracy == null ? '–' : percent(m.accuracy);
      break;
    case 'epoch':
      chart.addValidation(m.step, m.valAccuracy);
      $('val-accuracy').textContent = `${percent(m.valAccuracy)} after epoch ${m.epoch + 1} (loss ${m.valLoss.toFixed(3)}, ${m.seconds.toFixed(1)} s)`;
      document.body.dataset['valAccuracy'] = String(m.valAccuracy);
      break;
    case 'viz': {
      paint($('filters'), m.filters, 48);
      showLayers(m.sample.input, m.sample.layers);
      const p = m.sample.probabilities, best = p.indexOf(Math.max(...p));
      $('sample').textContent = `Held-out digit #${m.sample.index + 1}, a ${m.sample.label}: the network says ${best} (${percent(p[best]!)}), at step ${m.step}.`;
      $('filters-step').textContent = `step ${m.step}`;
      if (!pad.empty) requestPrediction();
      break;
    }
    case 'prediction':
      inFlight = false;
      showProbabilities(m.probabilities, m.step);
      if (wanted) requestPrediction();
      break;
    case 'saved':
      savedFor?.(m.saved, m.step);
      savedFor = null;
      break;
    case 'reset':
      chart.clear();
      for (const id of ['epoch', 'step', 'rate', 'loss', 'accuracy', 'val-accuracy']) $(id).textContent = '–';
      delete document.body.dataset['valAccuracy'];
      say('A new model from seed 1.');
      break;
    case 'error':
      say(`The worker failed: ${m.message}`, true);
      break;
  }
};
worker.onerror = (e) => say(`The worker failed to start: ${e.message || 'see the console'}`, true);
setState('loading', 0);
say('Loading the digits…');
send({ type: 'init', settings });
