/**
 * Where the registry listens by default, and so where clients look for it by default — written once here
 * (light module: help texts import it).
 */
export const DEFAULT_REGISTRY_HOST = '127.0.0.1';
export const DEFAULT_REGISTRY_PORT = 8000;
export const DEFAULT_REGISTRY_URL = `http://${DEFAULT_REGISTRY_HOST}:${DEFAULT_REGISTRY_PORT}`;
