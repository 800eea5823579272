// Types of tools/demo.mjs, for test/demo.test.ts.
import type { Server } from 'node:http';

export const demoRoot: string;
export const digitsPath: string;
export function buildLibrary(): Promise<void>;
export function writeDigits(options?: { force?: boolean }): Promise<{ path: string; written: boolean }>;
export function buildDemo(options?: { outDir?: string; library?: boolean; logLevel?: 'info' | 'warn' | 'error' | 'silent' }): Promise<string>;
export function serveDemo(options?: { dir?: string; port?: number; host?: string; isolation?: boolean }): Promise<{ url: string; server: Server; close(): Promise<void> }>;
