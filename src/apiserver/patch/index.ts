// The three PATCH content types the apiserver accepts from kubectl.
export { applyJsonPatch, type JsonPatchOp, parsePointer } from './json-patch.ts';
export { applyMergePatch, mergePatch } from './merge.ts';
export { applyStrategicMergePatch } from './strategic.ts';
