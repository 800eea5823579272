// Node ESM: `import` the installed package and print the check's results as JSON.
import { createBackend } from 'cnn-wasm';
import { check } from './check.cjs';

console.log(JSON.stringify(await check(createBackend)));
