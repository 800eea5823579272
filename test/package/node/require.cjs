// CommonJS: require() the installed package (an ES module: Node 20.19+ loads it synchronously, as it
// has no top-level await) and print the check's results as JSON.
'use strict';
const { createBackend } = require('cnn-wasm');
const { check } = require('./check.cjs');

check(createBackend).then(
  (results) => console.log(JSON.stringify(results)),
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
