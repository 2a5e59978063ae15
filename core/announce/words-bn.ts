import { type Paise, paisePart, rupeesPart } from '../money.js';
import type { Announcement } from './announcement.js';
import { indianGroups, mark, numberToken, type Phrase, type Phrasebook, type Piece, say } from './words-phrasebook.js';

/**
 * Bengali 0–99, written out in full because the numbers are irregular.
 * Spellings follow the current standard (এগারো, ষোলো, ঊনত্রিশ); where West
 * Bengal and Bangladesh differ, the form understood on both sides is used
 * (বিশ rather than কুড়ি, বাহান্ন, অষ্টাশি).
 */
// prettier-ignore
const NUMBERS = [
  'শূন্য', 'এক', 'দুই', 'তিন', 'চার', 'পাঁচ', 'ছয়', 'সাত', 'আট', 'নয়',
  'দশ', 'এগারো', 'বারো', 'তেরো', 'চৌদ্দ', 'পনেরো', 'ষোলো', 'সতেরো', 'আঠারো', 'উনিশ',
  'বিশ', 'একুশ', 'বাইশ', 'তেইশ', 'চব্বিশ', 'পঁচিশ', 'ছাব্বিশ', 'সাতাশ', 'আটাশ', 'ঊনত্রিশ',
  'ত্রিশ', 'একত্রিশ', 'বত্রিশ', 'তেত্রিশ', 'চৌত্রিশ', 'পঁয়ত্রিশ', 'ছত্রিশ', 'সাঁইত্রিশ', 'আটত্রিশ', 'ঊনচল্লিশ',
  'চল্লিশ', 'একচল্লিশ', 'বিয়াল্লিশ', 'তেতাল্লিশ', 'চুয়াল্লিশ', 'পঁয়তাল্লিশ', 'ছেচল্লিশ', 'সাতচল্লিশ', 'আটচল্লিশ', 'ঊনপঞ্চাশ',
  'পঞ্চাশ', 'একান্ন', 'বাহান্ন', 'তিপ্পান্ন', 'চুয়ান্ন', 'পঞ্চান্ন', 'ছাপ্পান্ন', 'সাতান্ন', 'আটান্ন', 'ঊনষাট',
  'ষাট', 'একষট্টি', 'বাষট্টি', 'তেষট্টি', 'চৌষট্টি', 'পঁয়ষট্টি', 'ছেষট্টি', 'সাতষট্টি', 'আটষট্টি', 'ঊনসত্তর',
  'সত্তর', 'একাত্তর', 'বাহাত্তর', 'তিয়াত্তর', 'চুয়াত্তর', 'পঁচাত্তর', 'ছিয়াত্তর', 'সাতাত্তর', 'আটাত্তর', 'ঊনআশি',
  'আশি', 'একাশি', 'বিরাশি', 'তিরাশি', 'চুরাশি', 'পঁচাশি', 'ছিয়াশি', 'সাতাশি', 'অষ্টাশি', 'ঊননব্বই',
  'নব্বই', 'একানব্বই', 'বিরানব্বই', 'তিরানব্বই', 'চুরানব্বই', 'পঁচানব্বই', 'ছিয়ানব্বই', 'সাতানব্বই', 'আটানব্বই', 'নিরানব্বই',
] as const;

/** Hundreds fuse with the count in speech: একশো, দুশো, not এক শত. */
// prettier-ignore
const HUNDREDS = [
  '', 'একশো', 'দুশো', 'তিনশো', 'চারশো', 'পাঁচশো', 'ছয়শো', 'সাতশো', 'আটশো', 'নয়শো',
] as const;

function number(value: number): Piece[] {
  if (value === 0) return [numberToken(NUMBERS, 0)];
  const g = indianGroups(value);
  const parts: Piece[] = [];
  if (g.crore > 0) parts.push(...number(g.crore), say('crore', 'কোটি'));
  if (g.lakh > 0) parts.push(numberToken(NUMBERS, g.lakh), say('lakh', 'লাখ'));
  if (g.thousand > 0) parts.push(numberToken(NUMBERS, g.thousand), say('thousand', 'হাজার'));
  if (g.hundred > 0) parts.push(numberToken(HUNDREDS, g.hundred, 'h'));
  if (g.rest > 0) parts.push(numberToken(NUMBERS, g.rest));
  return parts;
}

/**
 * The rupee is "টাকা" in spoken Bengali on both sides of the border, and
 * paise follow without a conjunction: "পাঁচশো টাকা পঞ্চাশ পয়সা".
 */
function amount(value: Paise): Piece[] {
  const rupees = rupeesPart(value);
  const paise = paisePart(value);
  const rupeeWords = [...number(rupees), say('rupees', 'টাকা')];
  if (paise === 0) return rupeeWords;
  const paiseWords = [...number(paise), say('paise', 'পয়সা')];
  if (rupees === 0) return paiseWords;
  return [...rupeeWords, ...paiseWords];
}

/** Counted things take the classifier, written fused: সাঁইত্রিশটি পেমেন্ট. */
function today(count: number, total: Paise): Piece[] {
  if (count === 0 && total === 0) return [say('today-none', 'আজ কোনো পেমেন্ট হয়নি')];
  return [say('today', 'আজ'), mark(':'), ...number(count), say('classifier', 'টি', ''), say('payments', 'পেমেন্ট'), mark(','), say('total', 'মোট'), ...amount(total)];
}

const FAULTS = {
  storage: 'পেমেন্ট রেকর্ড করা যাচ্ছে না। নতুন বিক্রি বন্ধ আছে',
  clock: 'ঘড়ি ঠিক করা নেই। নতুন বিক্রি বন্ধ আছে',
  ledger: 'যন্ত্রটির সার্ভিস দরকার। নতুন বিক্রি বন্ধ আছে',
} as const;

function sentence(a: Announcement): Phrase {
  switch (a.kind) {
    case 'payment':
      return [...amount(a.amount), say('received', 'পাওয়া গেছে')];
    case 'payment-failed':
      return [say('payment-failed', 'পেমেন্ট ব্যর্থ হয়েছে')];
    case 'ready':
      return [say('ready', 'ডিভাইস প্রস্তুত')];
    case 'connected':
      return [say('connected', 'পেমেন্ট পরিষেবার সঙ্গে সংযোগ হয়েছে')];
    case 'network-lost':
      return [say('network-lost', 'নেটওয়ার্ক সংযোগ বিচ্ছিন্ন হয়েছে')];
    case 'network-back':
      return [say('network-back', 'নেটওয়ার্ক সংযোগ ফিরে এসেছে')];
    case 'low-memory':
      return [say('low-memory', 'মেমরি কম আছে')];
    case 'low-storage':
      return [say('low-storage', 'স্টোরেজ প্রায় ভরে গেছে')];
    case 'fault':
      return [say(`fault-${a.fault}`, FAULTS[a.fault])];
    case 'volume':
      return [say('volume', 'ভলিউম'), ...number(a.level)];
    case 'day-summary':
      return today(a.count, a.total);
    case 'status': {
      const parts: Piece[] = [a.online ? say('online', 'নেটওয়ার্ক সংযোগ আছে') : say('offline', 'নেটওয়ার্ক সংযোগ নেই')];
      if (a.lastPayment !== undefined) parts.push(mark('।'), say('last-payment', 'শেষ পেমেন্ট'), mark(':'), ...amount(a.lastPayment));
      parts.push(mark('।'), ...today(a.todayCount, a.todayTotal));
      return parts;
    }
  }
}

export const bengali: Phrasebook = { number, amount, sentence };
