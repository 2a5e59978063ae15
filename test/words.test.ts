import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Announcement } from '../core/announce/announcement.js';
import { amountInWords, numberInWords, sentence } from '../core/announce/words.js';
import { LANGUAGES, type Language } from '../core/language.js';
import { type Paise, paise } from '../core/money.js';

/** "125000.50" → paise, without the parser's nine-digit cap so amounts past 99 crore can be tested too. */
function rs(text: string): Paise {
  const [whole = '', fraction = '00'] = text.split('.');
  return paise(Number(whole) * 100 + Number(fraction));
}

type Expected = Record<Language, string>;

/** Every payment sentence written out by hand, one row per amount. */
const PAYMENTS: [string, Expected][] = [
  ['0.50', { en: 'Received fifty paise', hi: 'पचास पैसे प्राप्त हुए', bn: 'পঞ্চাশ পয়সা পাওয়া গেছে', kn: 'ಐವತ್ತು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['0.01', { en: 'Received one paisa', hi: 'एक पैसा प्राप्त हुआ', bn: 'এক পয়সা পাওয়া গেছে', kn: 'ಒಂದು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['1.00', { en: 'Received one rupee', hi: 'एक रुपया प्राप्त हुआ', bn: 'এক টাকা পাওয়া গেছে', kn: 'ಒಂದು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  [
    '1.01',
    {
      en: 'Received one rupee and one paisa',
      hi: 'एक रुपया और एक पैसा प्राप्त हुए',
      bn: 'এক টাকা এক পয়সা পাওয়া গেছে',
      kn: 'ಒಂದು ರೂಪಾಯಿ ಒಂದು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  ['2.00', { en: 'Received two rupees', hi: 'दो रुपये प्राप्त हुए', bn: 'দুই টাকা পাওয়া গেছে', kn: 'ಎರಡು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['11.00', { en: 'Received eleven rupees', hi: 'ग्यारह रुपये प्राप्त हुए', bn: 'এগারো টাকা পাওয়া গেছে', kn: 'ಹನ್ನೊಂದು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['19.00', { en: 'Received nineteen rupees', hi: 'उन्नीस रुपये प्राप्त हुए', bn: 'উনিশ টাকা পাওয়া গেছে', kn: 'ಹತ್ತೊಂಬತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['25.00', { en: 'Received twenty-five rupees', hi: 'पच्चीस रुपये प्राप्त हुए', bn: 'পঁচিশ টাকা পাওয়া গেছে', kn: 'ಇಪ್ಪತ್ತೈದು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['59.00', { en: 'Received fifty-nine rupees', hi: 'उनसठ रुपये प्राप्त हुए', bn: 'ঊনষাট টাকা পাওয়া গেছে', kn: 'ಐವತ್ತೊಂಬತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['99.00', { en: 'Received ninety-nine rupees', hi: 'निन्यानवे रुपये प्राप्त हुए', bn: 'নিরানব্বই টাকা পাওয়া গেছে', kn: 'ತೊಂಬತ್ತೊಂಬತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['100.00', { en: 'Received one hundred rupees', hi: 'एक सौ रुपये प्राप्त हुए', bn: 'একশো টাকা পাওয়া গেছে', kn: 'ನೂರು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['101.00', { en: 'Received one hundred one rupees', hi: 'एक सौ एक रुपये प्राप्त हुए', bn: 'একশো এক টাকা পাওয়া গেছে', kn: 'ನೂರ ಒಂದು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  [
    '250.00',
    { en: 'Received two hundred fifty rupees', hi: 'दो सौ पचास रुपये प्राप्त हुए', bn: 'দুশো পঞ্চাশ টাকা পাওয়া গেছে', kn: 'ಇನ್ನೂರ ಐವತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' },
  ],
  [
    '999.00',
    {
      en: 'Received nine hundred ninety-nine rupees',
      hi: 'नौ सौ निन्यानवे रुपये प्राप्त हुए',
      bn: 'নয়শো নিরানব্বই টাকা পাওয়া গেছে',
      kn: 'ಒಂಬೈನೂರ ತೊಂಬತ್ತೊಂಬತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  ['1000.00', { en: 'Received one thousand rupees', hi: 'एक हज़ार रुपये प्राप्त हुए', bn: 'এক হাজার টাকা পাওয়া গেছে', kn: 'ಒಂದು ಸಾವಿರ ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  [
    '1001.00',
    { en: 'Received one thousand one rupees', hi: 'एक हज़ार एक रुपये प्राप्त हुए', bn: 'এক হাজার এক টাকা পাওয়া গেছে', kn: 'ಒಂದು ಸಾವಿರದ ಒಂದು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' },
  ],
  [
    '18450.00',
    {
      en: 'Received eighteen thousand four hundred fifty rupees',
      hi: 'अठारह हज़ार चार सौ पचास रुपये प्राप्त हुए',
      bn: 'আঠারো হাজার চারশো পঞ্চাশ টাকা পাওয়া গেছে',
      kn: 'ಹದಿನೆಂಟು ಸಾವಿರದ ನಾನೂರ ಐವತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  [
    '99999.00',
    {
      en: 'Received ninety-nine thousand nine hundred ninety-nine rupees',
      hi: 'निन्यानवे हज़ार नौ सौ निन्यानवे रुपये प्राप्त हुए',
      bn: 'নিরানব্বই হাজার নয়শো নিরানব্বই টাকা পাওয়া গেছে',
      kn: 'ತೊಂಬತ್ತೊಂಬತ್ತು ಸಾವಿರದ ಒಂಬೈನೂರ ತೊಂಬತ್ತೊಂಬತ್ತು ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  ['100000.00', { en: 'Received one lakh rupees', hi: 'एक लाख रुपये प्राप्त हुए', bn: 'এক লাখ টাকা পাওয়া গেছে', kn: 'ಒಂದು ಲಕ್ಷ ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  [
    '125000.50',
    {
      en: 'Received one lakh twenty-five thousand rupees and fifty paise',
      hi: 'एक लाख पच्चीस हज़ार रुपये और पचास पैसे प्राप्त हुए',
      bn: 'এক লাখ পঁচিশ হাজার টাকা পঞ্চাশ পয়সা পাওয়া গেছে',
      kn: 'ಒಂದು ಲಕ್ಷದ ಇಪ್ಪತ್ತೈದು ಸಾವಿರ ರೂಪಾಯಿ ಐವತ್ತು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  ['1000000.00', { en: 'Received ten lakh rupees', hi: 'दस लाख रुपये प्राप्त हुए', bn: 'দশ লাখ টাকা পাওয়া গেছে', kn: 'ಹತ್ತು ಲಕ್ಷ ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  ['10000000.00', { en: 'Received one crore rupees', hi: 'एक करोड़ रुपये प्राप्त हुए', bn: 'এক কোটি টাকা পাওয়া গেছে', kn: 'ಒಂದು ಕೋಟಿ ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ' }],
  [
    '12345678.90',
    {
      en: 'Received one crore twenty-three lakh forty-five thousand six hundred seventy-eight rupees and ninety paise',
      hi: 'एक करोड़ तेईस लाख पैंतालीस हज़ार छह सौ अठहत्तर रुपये और नब्बे पैसे प्राप्त हुए',
      bn: 'এক কোটি তেইশ লাখ পঁয়তাল্লিশ হাজার ছয়শো আটাত্তর টাকা নব্বই পয়সা পাওয়া গেছে',
      kn: 'ಒಂದು ಕೋಟಿಯ ಇಪ್ಪತ್ತಮೂರು ಲಕ್ಷದ ನಲವತ್ತೈದು ಸಾವಿರದ ಆರುನೂರ ಎಪ್ಪತ್ತೆಂಟು ರೂಪಾಯಿ ತೊಂಬತ್ತು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  [
    '999999999.99',
    {
      en: 'Received ninety-nine crore ninety-nine lakh ninety-nine thousand nine hundred ninety-nine rupees and ninety-nine paise',
      hi: 'निन्यानवे करोड़ निन्यानवे लाख निन्यानवे हज़ार नौ सौ निन्यानवे रुपये और निन्यानवे पैसे प्राप्त हुए',
      bn: 'নিরানব্বই কোটি নিরানব্বই লাখ নিরানব্বই হাজার নয়শো নিরানব্বই টাকা নিরানব্বই পয়সা পাওয়া গেছে',
      kn: 'ತೊಂಬತ್ತೊಂಬತ್ತು ಕೋಟಿಯ ತೊಂಬತ್ತೊಂಬತ್ತು ಲಕ್ಷದ ತೊಂಬತ್ತೊಂಬತ್ತು ಸಾವಿರದ ಒಂಬೈನೂರ ತೊಂಬತ್ತೊಂಬತ್ತು ರೂಪಾಯಿ ತೊಂಬತ್ತೊಂಬತ್ತು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  [
    '1000000000.00',
    {
      en: 'Received one hundred crore rupees',
      hi: 'एक सौ करोड़ रुपये प्राप्त हुए',
      bn: 'একশো কোটি টাকা পাওয়া গেছে',
      kn: 'ನೂರು ಕೋಟಿ ರೂಪಾಯಿ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
  [
    '123456789012.34',
    {
      en: 'Received twelve thousand three hundred forty-five crore sixty-seven lakh eighty-nine thousand twelve rupees and thirty-four paise',
      hi: 'बारह हज़ार तीन सौ पैंतालीस करोड़ सड़सठ लाख नवासी हज़ार बारह रुपये और चौंतीस पैसे प्राप्त हुए',
      bn: 'বারো হাজার তিনশো পঁয়তাল্লিশ কোটি সাতষট্টি লাখ ঊননব্বই হাজার বারো টাকা চৌত্রিশ পয়সা পাওয়া গেছে',
      kn: 'ಹನ್ನೆರಡು ಸಾವಿರದ ಮುನ್ನೂರ ನಲವತ್ತೈದು ಕೋಟಿಯ ಅರವತ್ತೇಳು ಲಕ್ಷದ ಎಂಬತ್ತೊಂಬತ್ತು ಸಾವಿರದ ಹನ್ನೆರಡು ರೂಪಾಯಿ ಮೂವತ್ತನಾಲ್ಕು ಪೈಸೆ ಸ್ವೀಕರಿಸಲಾಗಿದೆ',
    },
  ],
];

/** Each prompt with its expected sentence in every language, also written by hand. */
const PROMPTS: [string, Announcement, Expected][] = [
  [
    'payment failed',
    { kind: 'payment-failed' },
    { en: 'Payment failed', hi: 'भुगतान विफल रहा', bn: 'পেমেন্ট ব্যর্থ হয়েছে', kn: 'ಪಾವತಿ ವಿಫಲವಾಗಿದೆ' },
  ],
  ['ready', { kind: 'ready' }, { en: 'Device ready', hi: 'डिवाइस तैयार है', bn: 'ডিভাইস প্রস্তুত', kn: 'ಸಾಧನ ಸಿದ್ಧವಾಗಿದೆ' }],
  [
    'connected',
    { kind: 'connected' },
    {
      en: 'Connected to the payment service',
      hi: 'भुगतान सेवा से जुड़ गया है',
      bn: 'পেমেন্ট পরিষেবার সঙ্গে সংযোগ হয়েছে',
      kn: 'ಪಾವತಿ ಸೇವೆಗೆ ಸಂಪರ್ಕಗೊಂಡಿದೆ',
    },
  ],
  [
    'network lost',
    { kind: 'network-lost' },
    {
      en: 'Network connection lost',
      hi: 'नेटवर्क कनेक्शन टूट गया है',
      bn: 'নেটওয়ার্ক সংযোগ বিচ্ছিন্ন হয়েছে',
      kn: 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಕಡಿತಗೊಂಡಿದೆ',
    },
  ],
  [
    'network back',
    { kind: 'network-back' },
    {
      en: 'Network connection restored',
      hi: 'नेटवर्क कनेक्शन वापस आ गया है',
      bn: 'নেটওয়ার্ক সংযোগ ফিরে এসেছে',
      kn: 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಮರಳಿ ಬಂದಿದೆ',
    },
  ],
  ['low memory', { kind: 'low-memory' }, { en: 'Memory is low', hi: 'मेमोरी कम है', bn: 'মেমরি কম আছে', kn: 'ಮೆಮೊರಿ ಕಡಿಮೆ ಇದೆ' }],
  [
    'low storage',
    { kind: 'low-storage' },
    { en: 'Storage is almost full', hi: 'स्टोरेज लगभग भर गया है', bn: 'স্টোরেজ প্রায় ভরে গেছে', kn: 'ಸಂಗ್ರಹಣೆ ಬಹುತೇಕ ತುಂಬಿದೆ' },
  ],
  ['volume 0', { kind: 'volume', level: 0 }, { en: 'Volume zero', hi: 'वॉल्यूम शून्य', bn: 'ভলিউম শূন্য', kn: 'ವಾಲ್ಯೂಮ್ ಸೊನ್ನೆ' }],
  ['volume 5', { kind: 'volume', level: 5 }, { en: 'Volume five', hi: 'वॉल्यूम पाँच', bn: 'ভলিউম পাঁচ', kn: 'ವಾಲ್ಯೂಮ್ ಐದು' }],
  ['volume 10', { kind: 'volume', level: 10 }, { en: 'Volume ten', hi: 'वॉल्यूम दस', bn: 'ভলিউম দশ', kn: 'ವಾಲ್ಯೂಮ್ ಹತ್ತು' }],
  [
    'day summary',
    { kind: 'day-summary', count: 37, total: rs('18450.00') },
    {
      en: 'Today: thirty-seven payments, eighteen thousand four hundred fifty rupees',
      hi: 'आज: सैंतीस भुगतान, कुल अठारह हज़ार चार सौ पचास रुपये',
      bn: 'আজ: সাঁইত্রিশটি পেমেন্ট, মোট আঠারো হাজার চারশো পঞ্চাশ টাকা',
      kn: 'ಇಂದು: ಮೂವತ್ತೇಳು ಪಾವತಿಗಳು, ಒಟ್ಟು ಹದಿನೆಂಟು ಸಾವಿರದ ನಾನೂರ ಐವತ್ತು ರೂಪಾಯಿ',
    },
  ],
  [
    'day summary, one payment with paise',
    { kind: 'day-summary', count: 1, total: rs('250.50') },
    {
      en: 'Today: one payment, two hundred fifty rupees and fifty paise',
      hi: 'आज: एक भुगतान, कुल दो सौ पचास रुपये और पचास पैसे',
      bn: 'আজ: একটি পেমেন্ট, মোট দুশো পঞ্চাশ টাকা পঞ্চাশ পয়সা',
      kn: 'ಇಂದು: ಒಂದು ಪಾವತಿ, ಒಟ್ಟು ಇನ್ನೂರ ಐವತ್ತು ರೂಪಾಯಿ ಐವತ್ತು ಪೈಸೆ',
    },
  ],
  [
    'day summary, no payments',
    { kind: 'day-summary', count: 0, total: rs('0.00') },
    { en: 'Today: no payments', hi: 'आज कोई भुगतान नहीं हुआ', bn: 'আজ কোনো পেমেন্ট হয়নি', kn: 'ಇಂದು ಯಾವುದೇ ಪಾವತಿ ಆಗಿಲ್ಲ' },
  ],
  [
    'status online with a last payment',
    { kind: 'status', online: true, lastPayment: rs('250.00'), todayCount: 37, todayTotal: rs('18450.00') },
    {
      en: 'Network connected. Last payment: two hundred fifty rupees. Today: thirty-seven payments, eighteen thousand four hundred fifty rupees',
      hi: 'नेटवर्क जुड़ा हुआ है। पिछला भुगतान: दो सौ पचास रुपये। आज: सैंतीस भुगतान, कुल अठारह हज़ार चार सौ पचास रुपये',
      bn: 'নেটওয়ার্ক সংযোগ আছে। শেষ পেমেন্ট: দুশো পঞ্চাশ টাকা। আজ: সাঁইত্রিশটি পেমেন্ট, মোট আঠারো হাজার চারশো পঞ্চাশ টাকা',
      kn: 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಇದೆ. ಕೊನೆಯ ಪಾವತಿ: ಇನ್ನೂರ ಐವತ್ತು ರೂಪಾಯಿ. ಇಂದು: ಮೂವತ್ತೇಳು ಪಾವತಿಗಳು, ಒಟ್ಟು ಹದಿನೆಂಟು ಸಾವಿರದ ನಾನೂರ ಐವತ್ತು ರೂಪಾಯಿ',
    },
  ],
  [
    'status offline before the first payment',
    { kind: 'status', online: false, todayCount: 0, todayTotal: rs('0.00') },
    {
      en: 'Network not connected. Today: no payments',
      hi: 'नेटवर्क जुड़ा नहीं है। आज कोई भुगतान नहीं हुआ',
      bn: 'নেটওয়ার্ক সংযোগ নেই। আজ কোনো পেমেন্ট হয়নি',
      kn: 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಇಲ್ಲ. ಇಂದು ಯಾವುದೇ ಪಾವತಿ ಆಗಿಲ್ಲ',
    },
  ],
  [
    'status offline with paise in the last payment',
    { kind: 'status', online: false, lastPayment: rs('0.50'), todayCount: 2, todayTotal: rs('1.50') },
    {
      en: 'Network not connected. Last payment: fifty paise. Today: two payments, one rupee and fifty paise',
      hi: 'नेटवर्क जुड़ा नहीं है। पिछला भुगतान: पचास पैसे। आज: दो भुगतान, कुल एक रुपया और पचास पैसे',
      bn: 'নেটওয়ার্ক সংযোগ নেই। শেষ পেমেন্ট: পঞ্চাশ পয়সা। আজ: দুইটি পেমেন্ট, মোট এক টাকা পঞ্চাশ পয়সা',
      kn: 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಇಲ್ಲ. ಕೊನೆಯ ಪಾವತಿ: ಐವತ್ತು ಪೈಸೆ. ಇಂದು: ಎರಡು ಪಾವತಿಗಳು, ಒಟ್ಟು ಒಂದು ರೂಪಾಯಿ ಐವತ್ತು ಪೈಸೆ',
    },
  ],
];

/** The irregular numbers most often got wrong, as a native speaker writes them. */
const TRICKY: [number, Expected][] = [
  [19, { en: 'nineteen', hi: 'उन्नीस', bn: 'উনিশ', kn: 'ಹತ್ತೊಂಬತ್ತು' }],
  [29, { en: 'twenty-nine', hi: 'उनतीस', bn: 'ঊনত্রিশ', kn: 'ಇಪ್ಪತ್ತೊಂಬತ್ತು' }],
  [37, { en: 'thirty-seven', hi: 'सैंतीस', bn: 'সাঁইত্রিশ', kn: 'ಮೂವತ್ತೇಳು' }],
  [45, { en: 'forty-five', hi: 'पैंतालीस', bn: 'পঁয়তাল্লিশ', kn: 'ನಲವತ್ತೈದು' }],
  [49, { en: 'forty-nine', hi: 'उनचास', bn: 'ঊনপঞ্চাশ', kn: 'ನಲವತ್ತೊಂಬತ್ತು' }],
  [53, { en: 'fifty-three', hi: 'तिरपन', bn: 'তিপ্পান্ন', kn: 'ಐವತ್ತಮೂರು' }],
  [64, { en: 'sixty-four', hi: 'चौंसठ', bn: 'চৌষট্টি', kn: 'ಅರವತ್ತನಾಲ್ಕು' }],
  [67, { en: 'sixty-seven', hi: 'सड़सठ', bn: 'সাতষট্টি', kn: 'ಅರವತ್ತೇಳು' }],
  [72, { en: 'seventy-two', hi: 'बहत्तर', bn: 'বাহাত্তর', kn: 'ಎಪ್ಪತ್ತೆರಡು' }],
  [79, { en: 'seventy-nine', hi: 'उनासी', bn: 'ঊনআশি', kn: 'ಎಪ್ಪತ್ತೊಂಬತ್ತು' }],
  [82, { en: 'eighty-two', hi: 'बयासी', bn: 'বিরাশি', kn: 'ಎಂಬತ್ತೆರಡು' }],
  [88, { en: 'eighty-eight', hi: 'अट्ठासी', bn: 'অষ্টাশি', kn: 'ಎಂಬತ್ತೆಂಟು' }],
  [89, { en: 'eighty-nine', hi: 'नवासी', bn: 'ঊননব্বই', kn: 'ಎಂಬತ್ತೊಂಬತ್ತು' }],
  [92, { en: 'ninety-two', hi: 'बानवे', bn: 'বিরানব্বই', kn: 'ತೊಂಬತ್ತೆರಡು' }],
  [96, { en: 'ninety-six', hi: 'छियानवे', bn: 'ছিয়ানব্বই', kn: 'ತೊಂಬತ್ತಾರು' }],
];

/** Letters of each language's own script; spaces and the punctuation the templates use are allowed besides. */
const SCRIPT: Record<Language, RegExp> = {
  en: /^[A-Za-z :,.-]+$/,
  hi: /^[\u0900-\u097F :,]+$/,
  bn: /^[\u0980-\u09FF\u0964 :,]+$/,
  kn: /^[\u0C80-\u0CFF :,.]+$/,
};

describe('payment sentences', () => {
  for (const [amount, expected] of PAYMENTS) {
    for (const language of LANGUAGES) {
      it(`${amount} in ${language}`, () => {
        expect(sentence({ kind: 'payment', amount: rs(amount) }, language)).toBe(expected[language]);
      });
    }
  }
});

describe('prompts', () => {
  for (const [name, announcement, expected] of PROMPTS) {
    for (const language of LANGUAGES) {
      it(`${name} in ${language}`, () => {
        expect(sentence(announcement, language)).toBe(expected[language]);
      });
    }
  }
});

describe('amountInWords', () => {
  it('says the amount without the payment verb', () => {
    expect(amountInWords(rs('125000.50'), 'en')).toBe('one lakh twenty-five thousand rupees and fifty paise');
    expect(amountInWords(rs('125000.50'), 'hi')).toBe('एक लाख पच्चीस हज़ार रुपये और पचास पैसे');
    expect(amountInWords(rs('125000.50'), 'bn')).toBe('এক লাখ পঁচিশ হাজার টাকা পঞ্চাশ পয়সা');
    expect(amountInWords(rs('125000.50'), 'kn')).toBe('ಒಂದು ಲಕ್ಷದ ಇಪ್ಪತ್ತೈದು ಸಾವಿರ ರೂಪಾಯಿ ಐವತ್ತು ಪೈಸೆ');
  });

  it('says zero as zero rupees', () => {
    expect(amountInWords(rs('0.00'), 'en')).toBe('zero rupees');
    expect(amountInWords(rs('0.00'), 'hi')).toBe('शून्य रुपये');
    expect(amountInWords(rs('0.00'), 'bn')).toBe('শূন্য টাকা');
    expect(amountInWords(rs('0.00'), 'kn')).toBe('ಸೊನ್ನೆ ರೂಪಾಯಿ');
  });

  it('never says "and zero paise"', () => {
    for (const language of LANGUAGES) {
      expect(amountInWords(rs('250.00'), language)).not.toMatch(/paise|paisa|और|पैस|পয়সা|ಪೈಸೆ/);
    }
  });

  it('speaks the largest safe amount', () => {
    // ₹90,071,992,547,409.91, over nine lakh crore: still said as a count of crores.
    expect(amountInWords(paise(Number.MAX_SAFE_INTEGER), 'en')).toBe(
      'ninety lakh seven thousand one hundred ninety-nine crore twenty-five lakh forty-seven thousand four hundred nine rupees and ninety-one paise',
    );
  });
});

describe('numbers', () => {
  for (const [value, expected] of TRICKY) {
    for (const language of LANGUAGES) {
      it(`${value} in ${language}`, () => {
        expect(numberInWords(value, language)).toBe(expected[language]);
      });
    }
  }

  it('has a different word for each of 0–99 in every language', () => {
    for (const language of LANGUAGES) {
      const words = Array.from({ length: 100 }, (_, i) => numberInWords(i, language));
      expect(new Set(words).size).toBe(100);
    }
  });
});

describe('what reaches the speech engine', () => {
  // A spread of amounts across every group size, including the ones with zero groups in the middle.
  const amounts = ['0.00', '0.01', '0.99', '1.00', '1.01', '1000.00', '100000.07', '10000000.05', '100000001.00', '1000000000000.00'];
  const kinds: Announcement[] = [
    ...amounts.map((a): Announcement => ({ kind: 'payment', amount: rs(a) })),
    { kind: 'payment', amount: paise(Number.MAX_SAFE_INTEGER) },
    ...PROMPTS.map(([, announcement]) => announcement),
  ];

  it('is words in the language’s own script, never digits', () => {
    for (const language of LANGUAGES) {
      for (const announcement of kinds) {
        const text = sentence(announcement, language);
        expect(text, `${language} ${JSON.stringify(announcement)}`).toMatch(SCRIPT[language]);
        expect(text).not.toMatch(/[0-9\u0966-\u096F\u09E6-\u09EF\u0CE6-\u0CEF]/);
        expect(text).not.toMatch(/ {2}|^ | $|undefined/);
      }
    }
  });

  it('is in Unicode normal form C, so the same word always has the same bytes', () => {
    for (const language of LANGUAGES) {
      for (const announcement of kinds) {
        const text = sentence(announcement, language);
        expect(text).toBe(text.normalize('NFC'));
      }
    }
  });
});

describe('bad input', () => {
  const bad = (value: number) => value as Paise;

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('refuses the amount %s', (value) => {
    expect(() => amountInWords(bad(value), 'en')).toThrow(RangeError);
    expect(() => sentence({ kind: 'payment', amount: bad(value) }, 'hi')).toThrow(/payment amount must be a whole, non-negative number of paise/);
  });

  it.each([-1, 11, 2.5, Number.NaN])('refuses volume level %s', (level) => {
    expect(() => sentence({ kind: 'volume', level }, 'kn')).toThrow(RangeError);
    expect(() => sentence({ kind: 'volume', level }, 'kn')).toThrow(/volume level must be a whole number from 0 to 10/);
  });

  it('refuses bad day-summary and status numbers', () => {
    expect(() => sentence({ kind: 'day-summary', count: -1, total: rs('0.00') }, 'bn')).toThrow(RangeError);
    expect(() => sentence({ kind: 'day-summary', count: 1.5, total: rs('1.00') }, 'bn')).toThrow(RangeError);
    expect(() => sentence({ kind: 'day-summary', count: 1, total: bad(-100) }, 'bn')).toThrow(/day summary total/);
    expect(() =>
      sentence({ kind: 'status', online: true, lastPayment: bad(0.5), todayCount: 0, todayTotal: rs('0.00') }, 'en'),
    ).toThrow(/status last payment/);
    expect(() => sentence({ kind: 'status', online: true, todayCount: -3, todayTotal: rs('0.00') }, 'en')).toThrow(
      /status today count/,
    );
  });

  it('refuses a count that is not a whole number', () => {
    expect(() => numberInWords(-1, 'en')).toThrow(RangeError);
    expect(() => numberInWords(0.1, 'hi')).toThrow(RangeError);
  });

  it('refuses a language it has no templates for', () => {
    expect(() => sentence({ kind: 'ready' }, 'ta' as Language)).toThrow(/no announcements in language "ta"/);
    expect(() => amountInWords(rs('1.00'), 'EN' as Language)).toThrow(RangeError);
  });

  it('refuses an announcement kind it does not know', () => {
    expect(() => sentence({ kind: 'jingle' } as unknown as Announcement, 'en')).toThrow(/no sentence for announcement kind "jingle"/);
  });
});

// espeak-ng is part of the device image and of the test machine's setup;
// without it this fails rather than passing unseen.
describe('espeak-ng reads every language', () => {
  const samples: Announcement[] = [
    { kind: 'payment', amount: rs('125000.50') },
    { kind: 'status', online: true, lastPayment: rs('250.00'), todayCount: 37, todayTotal: rs('18450.00') },
  ];
  for (const language of LANGUAGES) {
    it(`speaks ${language} without complaint`, () => {
      for (const announcement of samples) {
        const text = sentence(announcement, language);
        // Passed as an argument, never through a shell.
        const run = spawnSync('espeak-ng', ['-v', language, '--stdout', text], { stdio: ['ignore', 'pipe', 'pipe'] });
        expect(run.status).toBe(0);
        expect(run.stderr.toString()).toBe('');
        // Well over two seconds of 22 kHz 16-bit audio: the words were spoken, not skipped.
        expect(run.stdout.length).toBeGreaterThan(100_000);
      }
    });
  }
});
