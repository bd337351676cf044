// Examples to try: a row of the sample images in samples/ (listed, with an honest caption each,
// in samples/index.json, made by `python -m mnistdraw samples`). A click, a tap or Enter on
// one fetches its PNG and hands it over as a file, to go the way of any uploaded image.

const INDEX = "samples/index.json";
const FOLDER = "samples/";
const SAFE_FILE = /^[\w.-]+\.png$/; // names from the index stay inside samples/

// Short words under each picture; the caption says the rest.
const KIND_NAMES = {
  digit: "digit",
  hard: "hard",
  wrong: "read wrong",
  number: "number",
  letter: "letter",
};

// setupSamples({row, section, onPick}) fills `row` with a button per sample and shows
// `section` once there are some. onPick(file, sample) gets the sample's image as a File and
// its entry of the index ({file, label, kind, caption}); onFailed(message) when it cannot be
// fetched.
export async function setupSamples({ row, section, onPick, onFailed }) {
  let samples;
  try {
    const response = await fetch(INDEX, { cache: "no-cache" });
    if (!response.ok) return;
    samples = (await response.json()).samples;
  } catch {
    return; // no examples on this server: the section stays hidden
  }
  if (!Array.isArray(samples)) return;
  const buttons = samples
    .filter((s) => s && typeof s.file === "string" && SAFE_FILE.test(s.file))
    .map((sample, index) => {
      const caption = String(sample.caption || sample.label || sample.file);
      const button = document.createElement("button");
      button.type = "button";
      button.id = `sample-${index + 1}`;
      button.className = `sample sample-${sample.kind}`;
      button.title = caption;
      button.dataset.file = sample.file;
      const image = document.createElement("img");
      image.src = FOLDER + sample.file;
      image.alt = `Example: ${caption}`;
      image.decoding = "async";
      const name = document.createElement("span");
      name.className = "sample-kind";
      name.textContent = KIND_NAMES[sample.kind] || String(sample.kind || "");
      name.setAttribute("aria-hidden", "true");
      button.append(image, name);
      button.addEventListener("click", async () => {
        try {
          const response = await fetch(FOLDER + sample.file);
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const blob = await response.blob();
          onPick(new File([blob], sample.file, { type: blob.type || "image/png" }), {
            ...sample,
            caption,
          });
        } catch {
          onFailed("That example could not be loaded. Please try again.");
        }
      });
      return button;
    });
  row.replaceChildren(...buttons);
  section.hidden = buttons.length === 0;
}
