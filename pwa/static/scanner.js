// Scanning: a hardware scanner typing into a focused field ending with Enter ("wedge"), the camera (the native
// BarcodeDetector where it exists, else zxing-wasm from the app's own copy), and manual entry.
// It delivers raw scan strings; what they mean is gs1.js's job.
//
//   scanField({label, placeholder, substitute, onScan})  -> element: big input + Camera button
//   openCamera({onScan, onClose})                         -> full-screen camera overlay, returns {close()}
//
// GS (ASCII 29): scanners that can send it as a control character get it turned into the site's substitute
// character (default "|"), which gs1.js reads as a separator; those that can't type it send the substitute.
// Duplicate reads (a camera seeing the same label in consecutive frames, a trigger bouncing) are dropped.
import { GS } from "./gs1.js";
import { escapeHtml } from "./html.js";

export const WEDGE_REPEAT_MS = 300; // the same text again within this time is a bounce
const CAMERA_REPEAT_MS = 2500; // the same label in front of the camera is read once

const ZXING_BASE = new URL("./vendor/zxing-wasm/", import.meta.url).href;

let lastRead = { text: "", at: 0 };
const CAMERA_ICON = `<svg aria-hidden="true" viewBox="0 0 24 24" width="26" height="26" fill="none" stroke="currentColor"
  stroke-width="2.2" stroke-linejoin="round"><path d="M3 8h4l2-3h6l2 3h4v11H3z"/><circle cx="12" cy="13" r="3.6"/></svg>`;

/** True when `text` repeats the last read within `ms` (then it is dropped). Every read is noted. */
export function isRepeat(text, ms) {
  const now = performance.now();
  const repeat = text === lastRead.text && now - lastRead.at < ms;
  if (!repeat) lastRead = { text, at: now };
  return repeat;
}

/** The big scan field: focus stays in it, Enter ends a scan. `onScan(text, source)`. */
export function scanField({ label = "Scan", placeholder = "Scan or type, then Enter", substitute = "|",
  onScan, camera = true } = {}) {
  const wrap = document.createElement("div");
  wrap.className = "scan-field";
  const id = `scan-${Math.random().toString(36).slice(2, 8)}`;
  wrap.innerHTML = `
    <label for="${id}">${escapeHtml(label)}</label>
    <div class="scan-row">
      <input id="${id}" class="scan-input" type="text" inputmode="none" autocomplete="off" autocorrect="off"
             autocapitalize="off" spellcheck="false" enterkeyhint="go" placeholder="${escapeHtml(placeholder)}">
      ${camera ? `<button type="button" class="btn scan-camera" aria-label="Camera: scan with the camera">${CAMERA_ICON}<span>Camera</span></button>` : ""}
      <button type="button" class="btn scan-enter" aria-label="OK: enter what was typed">OK</button>
    </div>`;
  const input = wrap.querySelector("input");
  // Focus stays in the field for the hardware scanner without opening the on-screen keyboard; a tap on the
  // field itself asks for the keyboard (manual entry), and leaving the field puts it away again.
  input.addEventListener("pointerdown", () => { input.inputMode = "text"; });
  input.addEventListener("blur", () => { input.inputMode = "none"; });
  const deliver = (source) => {
    const text = input.value.replaceAll(GS, substitute);
    input.value = "";
    if (!text.trim()) return;
    onScan?.(text.trim(), source); // the app drops bounces (isRepeat) for every source in one place
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === "Tab" && input.value) {
      event.preventDefault();
      deliver("wedge");
    } else if (event.key === GS || event.key === "GroupSeparator" || (event.ctrlKey && event.key === "]")) {
      // A scanner sending GS as a key: type the substitute instead (a control character may never arrive).
      event.preventDefault();
      insertAtCursor(input, substitute);
    }
  });
  input.addEventListener("input", () => {
    if (input.value.includes(GS)) input.value = input.value.replaceAll(GS, substitute);
  });
  wrap.querySelector(".scan-enter").addEventListener("click", () => { deliver("manual"); input.focus(); });
  wrap.querySelector(".scan-camera")?.addEventListener("click", () => {
    openCamera({ onScan: (text) => onScan?.(text.replaceAll(GS, substitute), "camera") });
  });
  wrap.focusInput = () => input.focus({ preventScroll: true });
  wrap.input = input;
  return wrap;
}

function insertAtCursor(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  input.setSelectionRange(start + text.length, start + text.length);
}

// --- camera ----------------------------------------------------------------------------------------------

const NATIVE_FORMATS = ["data_matrix", "qr_code", "code_128", "ean_13", "ean_8", "upc_a", "upc_e", "itf"];
const ZXING_FORMATS = ["DataMatrix", "QRCode", "Code128", "EAN-13", "EAN-8", "UPC-A", "UPC-E", "ITF", "DataBar",
  "DataBarExpanded"];
// ISO/IEC 15424 identifiers for what the native detector reports without one (GS1 needs its FNC1 flag,
// which BarcodeDetector does not expose: its raw value is passed as it is).
let zxingReady = null;

/** zxing-wasm's reader, its .wasm from this app's own copy (never a CDN). */
export function loadZxing() {
  if (!zxingReady) {
    zxingReady = import(ZXING_BASE + "es/reader/index.js").then(async (zxing) => {
      zxing.prepareZXingModule({
        overrides: {
          locateFile: (path, prefix) => (path.endsWith(".wasm") ? ZXING_BASE + "reader/" + path : prefix + path),
        },
        fireImmediately: true,
      });
      return zxing;
    }).catch((error) => { zxingReady = null; throw error; });
  }
  return zxingReady;
}

async function nativeDetector() {
  if (!("BarcodeDetector" in globalThis)) return null;
  try {
    const supported = await globalThis.BarcodeDetector.getSupportedFormats();
    const formats = NATIVE_FORMATS.filter((f) => supported.includes(f));
    if (!formats.includes("data_matrix")) return null;
    return new globalThis.BarcodeDetector({ formats });
  } catch {
    return null;
  }
}

/** Decode the barcodes in an ImageData with zxing-wasm: scan strings with their AIM symbology identifier. */
export async function decodeImageData(imageData) {
  const zxing = await loadZxing();
  const results = await zxing.readBarcodes(imageData, {
    formats: ZXING_FORMATS, tryHarder: true, textMode: "Plain", maxNumberOfSymbols: 1,
  });
  return results.filter((r) => r.isValid !== false && r.text).map((r) => (r.symbologyIdentifier || "") + r.text);
}

/** The camera overlay: reads until a barcode is found, then calls onScan(text) and closes. */
export function openCamera({ onScan, onClose } = {}) {
  const overlay = document.createElement("div");
  overlay.className = "camera";
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-label", "Camera scanner");
  overlay.innerHTML = `
    <video playsinline muted autoplay></video>
    <div class="camera-aim" aria-hidden="true"></div>
    <p class="camera-status" role="status">Starting the camera…</p>
    <button type="button" class="btn camera-close">Close camera</button>`;
  document.body.append(overlay);
  const video = overlay.querySelector("video");
  const status = overlay.querySelector(".camera-status");
  let stream = null, stopped = false, timer = null;

  const close = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    stream?.getTracks().forEach((t) => t.stop());
    overlay.remove();
    onClose?.();
  };
  overlay.querySelector(".camera-close").addEventListener("click", close);

  (async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false,
      });
    } catch (error) {
      status.textContent = `No camera: ${error.message || error.name}. Type the code instead.`;
      return;
    }
    if (stopped) { stream.getTracks().forEach((t) => t.stop()); return; }
    video.srcObject = stream;
    await video.play().catch(() => {});
    const native = await nativeDetector();
    if (!native) loadZxing().catch(() => { status.textContent = "The barcode reader could not load."; });
    status.textContent = "Point at the barcode";
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const tick = async () => {
      if (stopped) return;
      try {
        if (video.readyState >= 2 && video.videoWidth) {
          let texts = [];
          if (native) {
            texts = (await native.detect(video)).map((b) => b.rawValue).filter(Boolean);
          } else {
            canvas.width = video.videoWidth; canvas.height = video.videoHeight;
            context.drawImage(video, 0, 0);
            texts = await decodeImageData(context.getImageData(0, 0, canvas.width, canvas.height));
          }
          const text = texts.find((t) => !isRepeat(t, CAMERA_REPEAT_MS));
          if (text && !stopped) {
            navigator.vibrate?.(30);
            close();
            onScan?.(text);
            return;
          }
        }
      } catch (error) {
        status.textContent = `Reading failed: ${error.message || error}`;
      }
      timer = setTimeout(tick, native ? 120 : 200);
    };
    tick();
  })();
  return { close };
}
