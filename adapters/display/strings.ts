import type { Language } from '../../core/language.js';
import type { DeviceFault } from '../../core/ports/display.js';

/**
 * Every word the LCD shows, per language. Amounts, UTRs, references and the
 * countdown stay in Latin digits in every language: the customer compares
 * them with their UPI app, which shows Latin digits.
 *
 * Where a phrase has a long and a short form (`[long, short]`), the layout
 * uses the long one when it fits and the short one on small panels.
 */
export interface ScreenText {
  readonly brand: string;
  readonly starting: string;
  readonly firmware: (version: string) => string;
  readonly device: (id: string) => string;
  readonly ready: string;
  readonly waitingForSale: string;
  readonly online: string;
  readonly scanWithAnyUpiApp: readonly [string, string];
  readonly expiresIn: string;
  readonly reference: (tr: string) => string;
  readonly paymentReceived: string;
  readonly utr: (utr: string) => string;
  readonly payer: (masked: string) => string;
  readonly paidLate: string;
  readonly mismatch: string;
  readonly asked: (amount: string) => string;
  readonly received: (amount: string) => string;
  readonly checkWithCustomer: string;
  readonly paymentFailed: string;
  readonly tryAgain: string;
  readonly qrExpired: string;
  readonly startAgain: string;
  readonly saleCancelled: string;
  readonly offline: readonly [string, string];
  readonly connecting: string;
  readonly deviceInfo: string;
  readonly deviceIdLabel: string;
  readonly firmwareLabel: string;
  readonly ipLabel: string;
  readonly brokerLabel: string;
  readonly scanToIdentify: string;
  readonly selfTest: string;
  readonly fault: Readonly<Record<DeviceFault, { readonly title: string; readonly advice: string }>>;
  readonly salesPaused: string;
}

const ZWNJ = '\u200c';

const en: ScreenText = {
  brand: 'India Post',
  starting: 'Starting…',
  firmware: (v) => `Firmware ${v}`,
  device: (id) => `Device ${id}`,
  ready: 'Ready',
  waitingForSale: 'Waiting for the next payment',
  online: 'Online',
  scanWithAnyUpiApp: ['Scan with any UPI app', 'Scan to pay'],
  expiresIn: 'Expires in',
  reference: (tr) => `Ref ${tr}`,
  paymentReceived: 'Payment received',
  utr: (utr) => `UTR ${utr}`,
  payer: (p) => `From ${p}`,
  paidLate: 'Paid after the QR expired',
  mismatch: 'Amount does not match',
  asked: (a) => `Asked ${a}`,
  received: (a) => `Received ${a}`,
  checkWithCustomer: 'Check with the customer',
  paymentFailed: 'Payment failed',
  tryAgain: 'Please try again',
  qrExpired: 'QR code expired',
  startAgain: 'Start the sale again',
  saleCancelled: 'Sale cancelled',
  offline: ['Offline: payments confirm when back online', 'Offline'],
  connecting: 'Connecting…',
  deviceInfo: 'Device information',
  deviceIdLabel: 'Device ID',
  firmwareLabel: 'Firmware',
  ipLabel: 'IP address',
  brokerLabel: 'Broker',
  scanToIdentify: 'Scan to identify',
  selfTest: 'Self-test',
  fault: {
    storage: { title: 'Cannot record payments', advice: 'The storage is full or failing.' },
    clock: { title: 'Clock not set', advice: 'Waiting for the network time.' },
    ledger: { title: 'Payment record refused', advice: 'Call the field engineer.' },
  },
  salesPaused: 'New sales are paused',
};

const hi: ScreenText = {
  brand: 'भारतीय डाक',
  starting: 'शुरू हो रहा है…',
  firmware: (v) => `फ़र्मवेयर ${v}`,
  device: (id) => `डिवाइस ${id}`,
  ready: 'तैयार',
  waitingForSale: 'अगले भुगतान की प्रतीक्षा',
  online: 'ऑनलाइन',
  scanWithAnyUpiApp: ['किसी भी UPI ऐप से स्कैन करें', 'स्कैन करें'],
  expiresIn: 'शेष समय',
  reference: (tr) => `संदर्भ ${tr}`,
  paymentReceived: 'भुगतान प्राप्त हुआ',
  utr: (utr) => `UTR ${utr}`,
  payer: (p) => `भुगतानकर्ता ${p}`,
  paidLate: 'QR की समय-सीमा के बाद भुगतान',
  mismatch: 'राशि मेल नहीं खाती',
  asked: (a) => `माँगी गई राशि ${a}`,
  received: (a) => `प्राप्त राशि ${a}`,
  checkWithCustomer: 'ग्राहक से पुष्टि करें',
  paymentFailed: 'भुगतान विफल',
  tryAgain: 'कृपया फिर से प्रयास करें',
  qrExpired: 'QR की समय-सीमा समाप्त',
  startAgain: 'बिक्री फिर से शुरू करें',
  saleCancelled: 'बिक्री रद्द की गई',
  offline: ['ऑफ़लाइन: कनेक्शन लौटने पर पुष्टि होगी', 'ऑफ़लाइन'],
  connecting: 'कनेक्ट हो रहा है…',
  deviceInfo: 'डिवाइस की जानकारी',
  deviceIdLabel: 'डिवाइस ID',
  firmwareLabel: 'फ़र्मवेयर',
  ipLabel: 'IP पता',
  brokerLabel: 'ब्रोकर',
  scanToIdentify: 'पहचान के लिए स्कैन करें',
  selfTest: 'स्व-परीक्षण',
  fault: {
    storage: { title: 'भुगतान दर्ज नहीं हो पा रहे', advice: 'स्टोरेज भर गया है या खराब है।' },
    clock: { title: 'घड़ी सेट नहीं है', advice: 'नेटवर्क समय की प्रतीक्षा है।' },
    ledger: { title: 'भुगतान रिकॉर्ड अस्वीकृत', advice: 'फ़ील्ड इंजीनियर को बुलाएँ।' },
  },
  salesPaused: 'नई बिक्री रुकी हुई है',
};

const bn: ScreenText = {
  brand: 'ভারতীয় ডাক',
  starting: 'চালু হচ্ছে…',
  firmware: (v) => `ফার্মওয়্যার ${v}`,
  device: (id) => `ডিভাইস ${id}`,
  ready: 'প্রস্তুত',
  waitingForSale: 'পরবর্তী পেমেন্টের অপেক্ষায়',
  online: 'অনলাইন',
  scanWithAnyUpiApp: ['যেকোনো UPI অ্যাপ দিয়ে স্ক্যান করুন', 'স্ক্যান করুন'],
  expiresIn: 'বাকি সময়',
  reference: (tr) => `রেফারেন্স ${tr}`,
  paymentReceived: 'পেমেন্ট পাওয়া গেছে',
  utr: (utr) => `UTR ${utr}`,
  payer: (p) => `প্রেরক ${p}`,
  paidLate: 'QR-এর মেয়াদ শেষ হওয়ার পরে পেমেন্ট',
  mismatch: 'টাকার পরিমাণ মিলছে না',
  asked: (a) => `চাওয়া হয়েছে ${a}`,
  received: (a) => `পাওয়া গেছে ${a}`,
  checkWithCustomer: 'গ্রাহকের সাথে যাচাই করুন',
  paymentFailed: 'পেমেন্ট ব্যর্থ হয়েছে',
  tryAgain: 'আবার চেষ্টা করুন',
  qrExpired: 'QR-এর মেয়াদ শেষ',
  startAgain: 'বিক্রি আবার শুরু করুন',
  saleCancelled: 'বিক্রি বাতিল হয়েছে',
  offline: ['অফলাইন: সংযোগ ফিরলে নিশ্চিত হবে', 'অফলাইন'],
  connecting: 'সংযোগ করা হচ্ছে…',
  deviceInfo: 'ডিভাইসের তথ্য',
  deviceIdLabel: 'ডিভাইস ID',
  firmwareLabel: 'ফার্মওয়্যার',
  ipLabel: 'IP ঠিকানা',
  brokerLabel: 'ব্রোকার',
  scanToIdentify: 'শনাক্ত করতে স্ক্যান করুন',
  selfTest: 'স্ব-পরীক্ষা',
  fault: {
    storage: { title: 'পেমেন্ট রেকর্ড করা যাচ্ছে না', advice: 'স্টোরেজ ভরে গেছে বা খারাপ।' },
    clock: { title: 'ঘড়ি ঠিক করা নেই', advice: 'নেটওয়ার্কের সময়ের অপেক্ষা।' },
    ledger: { title: 'পেমেন্টের রেকর্ড খোলা যায়নি', advice: 'ফিল্ড ইঞ্জিনিয়ারকে ডাকুন।' },
  },
  salesPaused: 'নতুন বিক্রি বন্ধ আছে',
};

const kn: ScreenText = {
  brand: 'ಭಾರತೀಯ ಅಂಚೆ',
  starting: 'ಪ್ರಾರಂಭವಾಗುತ್ತಿದೆ…',
  firmware: (v) => `ಫರ್ಮ್${ZWNJ}ವೇರ್ ${v}`,
  device: (id) => `ಸಾಧನ ${id}`,
  ready: 'ಸಿದ್ಧ',
  waitingForSale: 'ಮುಂದಿನ ಪಾವತಿಗಾಗಿ ಕಾಯಲಾಗುತ್ತಿದೆ',
  online: `ಆನ್${ZWNJ}ಲೈನ್`,
  scanWithAnyUpiApp: [`ಯಾವುದೇ UPI ಆ್ಯಪ್${ZWNJ}ನಿಂದ ಸ್ಕ್ಯಾನ್ ಮಾಡಿ`, 'ಸ್ಕ್ಯಾನ್ ಮಾಡಿ'],
  expiresIn: 'ಉಳಿದ ಸಮಯ',
  reference: (tr) => `ಉಲ್ಲೇಖ ${tr}`,
  paymentReceived: 'ಪಾವತಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
  utr: (utr) => `UTR ${utr}`,
  payer: (p) => `ಪಾವತಿದಾರ ${p}`,
  paidLate: 'QR ಅವಧಿ ಮುಗಿದ ನಂತರ ಪಾವತಿ',
  mismatch: 'ಮೊತ್ತ ಹೊಂದಿಕೆಯಾಗುತ್ತಿಲ್ಲ',
  asked: (a) => `ಕೇಳಿದ ಮೊತ್ತ ${a}`,
  received: (a) => `ಸ್ವೀಕರಿಸಿದ ಮೊತ್ತ ${a}`,
  checkWithCustomer: 'ಗ್ರಾಹಕರೊಂದಿಗೆ ಪರಿಶೀಲಿಸಿ',
  paymentFailed: 'ಪಾವತಿ ವಿಫಲವಾಗಿದೆ',
  tryAgain: 'ದಯವಿಟ್ಟು ಮತ್ತೆ ಪ್ರಯತ್ನಿಸಿ',
  qrExpired: 'QR ಅವಧಿ ಮುಗಿದಿದೆ',
  startAgain: 'ಮಾರಾಟವನ್ನು ಮತ್ತೆ ಪ್ರಾರಂಭಿಸಿ',
  saleCancelled: 'ಮಾರಾಟ ರದ್ದಾಗಿದೆ',
  offline: [`ಆಫ್${ZWNJ}ಲೈನ್: ಸಂಪರ್ಕ ಮರಳಿದಾಗ ದೃಢೀಕರಣ`, `ಆಫ್${ZWNJ}ಲೈನ್`],
  connecting: 'ಸಂಪರ್ಕಿಸಲಾಗುತ್ತಿದೆ…',
  deviceInfo: 'ಸಾಧನದ ಮಾಹಿತಿ',
  deviceIdLabel: 'ಸಾಧನ ID',
  firmwareLabel: `ಫರ್ಮ್${ZWNJ}ವೇರ್`,
  ipLabel: 'IP ವಿಳಾಸ',
  brokerLabel: 'ಬ್ರೋಕರ್',
  scanToIdentify: 'ಗುರುತಿಸಲು ಸ್ಕ್ಯಾನ್ ಮಾಡಿ',
  selfTest: 'ಸ್ವಯಂ ಪರೀಕ್ಷೆ',
  fault: {
    storage: { title: 'ಪಾವತಿ ದಾಖಲಿಸಲು ಆಗುತ್ತಿಲ್ಲ', advice: 'ಸಂಗ್ರಹಣೆ ತುಂಬಿದೆ ಅಥವಾ ಕೆಟ್ಟಿದೆ.' },
    clock: { title: 'ಗಡಿಯಾರ ಸರಿಯಾಗಿಲ್ಲ', advice: 'ನೆಟ್‌ವರ್ಕ್ ಸಮಯಕ್ಕಾಗಿ ಕಾಯಲಾಗುತ್ತಿದೆ.' },
    ledger: { title: 'ಪಾವತಿ ದಾಖಲೆ ತಿರಸ್ಕರಿಸಲಾಗಿದೆ', advice: 'ಫೀಲ್ಡ್ ಎಂಜಿನಿಯರ್ ಅವರನ್ನು ಕರೆಯಿರಿ.' },
  },
  salesPaused: 'ಹೊಸ ಮಾರಾಟ ನಿಲ್ಲಿಸಲಾಗಿದೆ',
};

export const SCREEN_TEXT: Record<Language, ScreenText> = { en, hi, bn, kn };

export function screenText(language: Language): ScreenText {
  return SCREEN_TEXT[language];
}
