// Reading an image instead of a drawing: chosen with the file picker, dropped anywhere on the
// page, pasted, or one of the examples to try (samples.js hands them over as files). Checks
// type and size before anything is sent, and shows a small preview.

import { IMAGE_TYPES, MAX_UPLOAD_BYTES } from "./api.js";

// "PNG, JPEG, WebP or GIF"
const names = Object.values(IMAGE_TYPES);
const TYPE_NAMES = `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;

const notImage = (name) =>
  `${name ? `“${name}”` : "That file"} is not a ${TYPE_NAMES} image. Please use one of those.`;
const tooLarge = (size) =>
  `That image is ${(size / 1048576).toFixed(1)} MB; the largest accepted is ${MAX_UPLOAD_BYTES / 1048576} MB.`;

// The type the file's first bytes show, for files that the system labels oddly or not at all.
async function sniffType(file) {
  const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const ascii = (from, to) => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (ascii(0, 4) === "GIF8") return "image/gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return "";
}

// setupUploads({chooseButton, fileInput, help, preview: {figure, canvas, caption}, onImage,
// onRefused}) -> {hidePreview, read}. onImage(file, type, origin) gets an accepted image;
// onRefused(message) gets the reason a file was turned away. read(file, origin, label) reads
// an image that came another way (origin "sample": an example to try), `label` its caption.
export function setupUploads({ chooseButton, fileInput, help, preview, onImage, onRefused }) {
  fileInput.accept = Object.keys(IMAGE_TYPES).join(",");
  help.textContent = `or drop or paste a ${TYPE_NAMES}`;

  let previewToken = 0; // only the latest image may fill the preview

  function hidePreview() {
    previewToken += 1;
    preview.figure.hidden = true;
  }

  async function showPreview(file, label) {
    const token = ++previewToken;
    preview.caption.textContent = label;
    preview.figure.hidden = false;
    const canvas = preview.canvas;
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    try {
      const bitmap = await createImageBitmap(file);
      if (token !== previewToken) {
        bitmap.close(); // another image came meanwhile
        return;
      }
      const box = Math.round(96 * Math.max(window.devicePixelRatio || 1, 1));
      const scale = Math.min(box / bitmap.width, box / bitmap.height);
      canvas.width = box;
      canvas.height = box;
      const w = bitmap.width * scale;
      const h = bitmap.height * scale;
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(bitmap, (box - w) / 2, (box - h) / 2, w, h);
      preview.caption.textContent = `${label} · ${bitmap.width} × ${bitmap.height} px`;
      bitmap.close();
    } catch {
      if (token === previewToken) {
        preview.caption.textContent = `${label} · no preview (the server will still try to read it)`;
      }
    }
  }

  async function readFile(file, origin, label) {
    if (!file) return;
    let type = file.type;
    if (!(type in IMAGE_TYPES)) {
      try {
        type = await sniffType(file);
      } catch {
        type = "";
      }
    }
    if (!(type in IMAGE_TYPES)) {
      hidePreview();
      onRefused(notImage(file.name));
      return;
    }
    if (file.size > MAX_UPLOAD_BYTES) {
      hidePreview();
      onRefused(tooLarge(file.size));
      return;
    }
    showPreview(file, label || (origin === "paste" ? "Pasted image" : file.name));
    onImage(file, type, origin);
  }

  chooseButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    readFile(fileInput.files && fileInput.files[0], "file");
    fileInput.value = ""; // choosing the same file again still triggers a prediction
  });

  // Drop anywhere on the page (so a missed drop never navigates away to the file).
  let dragDepth = 0;
  const hasFiles = (event) =>
    event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    document.body.classList.remove("dragging");
    readFile(event.dataTransfer.files[0], "drop");
  });

  document.addEventListener("paste", (event) => {
    const items = event.clipboardData ? Array.from(event.clipboardData.items) : [];
    const item = items.find((i) => i.kind === "file" && i.type.startsWith("image/"));
    if (!item) return;
    event.preventDefault();
    readFile(item.getAsFile(), "paste");
  });

  return { hidePreview, read: readFile };
}
