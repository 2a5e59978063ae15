import { type Paise, paisePart, rupeesPart } from '../money.js';
import type { Announcement } from './announcement.js';
import { indianGroups, mark, numberToken, type Phrase, type Phrasebook, type Piece, say } from './words-phrasebook.js';

/**
 * Hindi 0–99. Nearly every number is its own word, so the table is written
 * out in full. Where spellings vary, the common modern one is used: -नवे for
 * the nineties (निन्यानवे), तिरपन, तिरसठ, सड़सठ, उनासी.
 */
// prettier-ignore
const NUMBERS = [
  'शून्य', 'एक', 'दो', 'तीन', 'चार', 'पाँच', 'छह', 'सात', 'आठ', 'नौ',
  'दस', 'ग्यारह', 'बारह', 'तेरह', 'चौदह', 'पंद्रह', 'सोलह', 'सत्रह', 'अठारह', 'उन्नीस',
  'बीस', 'इक्कीस', 'बाईस', 'तेईस', 'चौबीस', 'पच्चीस', 'छब्बीस', 'सत्ताईस', 'अट्ठाईस', 'उनतीस',
  'तीस', 'इकतीस', 'बत्तीस', 'तैंतीस', 'चौंतीस', 'पैंतीस', 'छत्तीस', 'सैंतीस', 'अड़तीस', 'उनतालीस',
  'चालीस', 'इकतालीस', 'बयालीस', 'तैंतालीस', 'चौवालीस', 'पैंतालीस', 'छियालीस', 'सैंतालीस', 'अड़तालीस', 'उनचास',
  'पचास', 'इक्यावन', 'बावन', 'तिरपन', 'चौवन', 'पचपन', 'छप्पन', 'सत्तावन', 'अट्ठावन', 'उनसठ',
  'साठ', 'इकसठ', 'बासठ', 'तिरसठ', 'चौंसठ', 'पैंसठ', 'छियासठ', 'सड़सठ', 'अड़सठ', 'उनहत्तर',
  'सत्तर', 'इकहत्तर', 'बहत्तर', 'तिहत्तर', 'चौहत्तर', 'पचहत्तर', 'छिहत्तर', 'सतहत्तर', 'अठहत्तर', 'उनासी',
  'अस्सी', 'इक्यासी', 'बयासी', 'तिरासी', 'चौरासी', 'पचासी', 'छियासी', 'सत्तासी', 'अट्ठासी', 'नवासी',
  'नब्बे', 'इक्यानवे', 'बानवे', 'तिरानवे', 'चौरानवे', 'पचानवे', 'छियानवे', 'सत्तानवे', 'अट्ठानवे', 'निन्यानवे',
] as const;

/** "एक सौ", not a bare "सौ": soundboxes say "एक सौ पचास रुपये". */
function number(value: number): Piece[] {
  if (value === 0) return [numberToken(NUMBERS, 0)];
  const g = indianGroups(value);
  const parts: Piece[] = [];
  if (g.crore > 0) parts.push(...number(g.crore), say('crore', 'करोड़'));
  if (g.lakh > 0) parts.push(numberToken(NUMBERS, g.lakh), say('lakh', 'लाख'));
  if (g.thousand > 0) parts.push(numberToken(NUMBERS, g.thousand), say('thousand', 'हज़ार'));
  if (g.hundred > 0) parts.push(numberToken(NUMBERS, g.hundred), say('hundred', 'सौ'));
  if (g.rest > 0) parts.push(numberToken(NUMBERS, g.rest));
  return parts;
}

/** Only exactly one takes the singular (एक रुपया); एक सौ एक रुपये is plural. */
function amount(value: Paise): Piece[] {
  const rupees = rupeesPart(value);
  const paise = paisePart(value);
  const rupeeWords = [...number(rupees), rupees === 1 ? say('rupee', 'रुपया') : say('rupees', 'रुपये')];
  if (paise === 0) return rupeeWords;
  const paiseWords = [...number(paise), paise === 1 ? say('paisa', 'पैसा') : say('paise', 'पैसे')];
  if (rupees === 0) return paiseWords;
  return [...rupeeWords, say('and', 'और'), ...paiseWords];
}

/** The verb agrees with the amount: एक रुपया प्राप्त हुआ, पचास पैसे प्राप्त हुए. */
function received(value: Paise): Piece[] {
  const single = value === 100 || value === 1;
  return [...amount(value), single ? say('received-one', 'प्राप्त हुआ') : say('received', 'प्राप्त हुए')];
}

function today(count: number, total: Paise): Piece[] {
  if (count === 0 && total === 0) return [say('today-none', 'आज कोई भुगतान नहीं हुआ')];
  return [say('today', 'आज'), mark(':'), ...number(count), say('payments', 'भुगतान'), mark(','), say('total', 'कुल'), ...amount(total)];
}

const FAULTS = {
  storage: 'भुगतान दर्ज नहीं हो पा रहे। नई बिक्री रोकी गई है',
  clock: 'घड़ी सेट नहीं है। नई बिक्री रोकी गई है',
  ledger: 'डिवाइस को सर्विस चाहिए। नई बिक्री रोकी गई है',
} as const;

function sentence(a: Announcement): Phrase {
  switch (a.kind) {
    case 'payment':
      return received(a.amount);
    case 'payment-failed':
      return [say('payment-failed', 'भुगतान विफल रहा')];
    case 'ready':
      return [say('ready', 'डिवाइस तैयार है')];
    case 'connected':
      return [say('connected', 'भुगतान सेवा से जुड़ गया है')];
    case 'network-lost':
      return [say('network-lost', 'नेटवर्क कनेक्शन टूट गया है')];
    case 'network-back':
      return [say('network-back', 'नेटवर्क कनेक्शन वापस आ गया है')];
    case 'low-memory':
      return [say('low-memory', 'मेमोरी कम है')];
    case 'low-storage':
      return [say('low-storage', 'स्टोरेज लगभग भर गया है')];
    case 'fault':
      return [say(`fault-${a.fault}`, FAULTS[a.fault])];
    case 'volume':
      return [say('volume', 'वॉल्यूम'), ...number(a.level)];
    case 'day-summary':
      return today(a.count, a.total);
    case 'status': {
      const parts: Piece[] = [a.online ? say('online', 'नेटवर्क जुड़ा हुआ है') : say('offline', 'नेटवर्क जुड़ा नहीं है')];
      if (a.lastPayment !== undefined) parts.push(mark('।'), say('last-payment', 'पिछला भुगतान'), mark(':'), ...amount(a.lastPayment));
      parts.push(mark('।'), ...today(a.todayCount, a.todayTotal));
      return parts;
    }
  }
}

export const hindi: Phrasebook = { number, amount, sentence };
