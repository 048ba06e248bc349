// Quorum's task UI elements: import this module once and every crowd-* element is defined.

export { AnnotationCanvas } from "./annotation-canvas.js";
export { CrowdBoundingBox } from "./crowd-bounding-box.js";
export { CrowdButton } from "./crowd-button.js";
export { CrowdCheckbox } from "./crowd-checkbox.js";
export { CrowdClassifier, parseCategories } from "./crowd-classifier.js";
export { CrowdClassifierMultiSelect } from "./crowd-classifier-multi-select.js";
export { CodePointText, CrowdEntityAnnotation } from "./crowd-entity-annotation.js";
export { CrowdForm } from "./crowd-form.js";
export { CrowdImageClassifier } from "./crowd-image-classifier.js";
export { CrowdImageClassifierMultiSelect } from "./crowd-image-classifier-multi-select.js";
export { CrowdKeypoint } from "./crowd-keypoint.js";
export { CrowdInstanceSegmentation } from "./crowd-instance-segmentation.js";
export { CrowdPolygon } from "./crowd-polygon.js";
export { CrowdLine, CrowdPolyline } from "./crowd-polyline.js";
export { CrowdSemanticSegmentation } from "./crowd-semantic-segmentation.js";
export { CrowdVideoClassifier } from "./crowd-video-classifier.js";
export {
  CrowdVideoObjectDetection,
  CrowdVideoObjectTracking,
} from "./crowd-video-object-tracking.js";
export { CrowdInput } from "./crowd-input.js";
export { CrowdAlert, CrowdCard, CrowdInstructions, CrowdModal, CrowdToast } from "./crowd-layout.js";
export { CrowdRadioButton, CrowdRadioGroup } from "./crowd-radio.js";
export { CrowdSlider } from "./crowd-slider.js";
export { CrowdTextArea } from "./crowd-text-area.js";
export { CrowdQuestionAnswerGeneration } from "./crowd-question-answer-generation.js";
export {
  CrowdRekognitionDetectModerationLabels,
  CrowdTextractAnalyzeDocument,
} from "./crowd-review-elements.js";
export { CrowdTextRanking } from "./crowd-text-ranking.js";
export { CrowdPairwisePreference } from "./crowd-pairwise-preference.js";
export { CrowdRubricRating } from "./crowd-rubric-rating.js";
export { CrowdSideBySide } from "./crowd-side-by-side.js";

// `_submittableValue`, which the managed service's scripts read (and some write), is the
// element's value under another name.
import * as elements from "./index.js";

for (const type of Object.values(elements)) {
  const proto = type && type.prototype;
  if (!(proto instanceof HTMLElement) || Object.hasOwn(proto, "_submittableValue")) continue;
  const value = Object.getOwnPropertyDescriptor(proto, "value");
  if (!value && !("value" in proto)) continue;
  Object.defineProperty(proto, "_submittableValue", {
    configurable: true,
    get() {
      return this.value;
    },
    set(next) {
      this.value = next;
    },
  });
}
