// Kubernetes protobuf bodies (kubectl's typed clients send them for `kubectl create <kind> …`).
export { type DecodeInto, decodeProtobufObject, PROTOBUF_MAGIC } from './decode.ts';
