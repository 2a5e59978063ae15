/** The LCD: drawing, the frame renderer and its outputs. */
export type { Display, Frame, LinkState, PanelSize, Screen, ScreenKind } from '../../core/ports/display.js';
export { FramebufferDisplay, readFramebufferGeometry, type FramebufferGeometry, type FramebufferOptions } from './framebuffer.js';
export { PngDisplay, renderFramePng, type PngDisplayOptions } from './png.js';
export { FrameRenderer, type FrameRendererOptions } from './renderer.js';
export { drawFrame } from './paint.js';
export { compose } from './screens.js';
export { PixelEncoder, type PixelFormat } from './pixels.js';
export { QrCodes, planQr, type QrPlan } from './qr.js';
export { countdownFace } from './countdown.js';
export { PANEL_SIZES, parsePanelSize } from './panels.js';
