// The browser page: a static folder that runs an exported model with ONNX Runtime Web.
export { writeWebPage, type WebPageMetadata, type WrittenWebPage } from './page.js';
