// Quorum's task UI elements: import this module once and every crowd-* element is defined.

export { CrowdClassifier, parseCategories } from "./crowd-classifier.js";
export { CrowdForm } from "./crowd-form.js";
export { CrowdImageClassifier } from "./crowd-image-classifier.js";
