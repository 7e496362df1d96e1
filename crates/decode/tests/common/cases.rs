//! Vectors written from the specifications themselves (bthome.io/format, docs.ruuvi.com, the
//! GATT Specification Supplement), independent of the reference implementations.

/// What one reading should be.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    Number(&'static str, f64, Option<&'static str>),
    Bool(&'static str, bool),
    Event(&'static str, &'static str),
    Dimmer(&'static str, i64),
    Text(&'static str, &'static str),
}

pub struct Case {
    pub name: &'static str,
    /// For GATT, the characteristic; 0 otherwise.
    pub uuid: u16,
    pub hex: &'static str,
    pub want: &'static [Want],
}

use Want::{Bool, Dimmer, Event, Number, Text};

const C: Option<&str> = Some("°C");
const PCT: Option<&str> = Some("%");
const MG: Option<&str> = Some("mG");
const UGM3: Option<&str> = Some("µg/m³");

const fn case(name: &'static str, hex: &'static str, want: &'static [Want]) -> Case {
    Case {
        name,
        uuid: 0,
        hex,
        want,
    }
}

const fn gatt(name: &'static str, uuid: u16, hex: &'static str, want: &'static [Want]) -> Case {
    Case {
        name,
        uuid,
        hex,
        want,
    }
}

/// BTHome v2 service data after the UUID: every example of the bthome.io object tables behind
/// a plain 0x40 device-information byte.
pub const BTHOME: &[Case] = &[
    case(
        "spec intro example",
        "4002c40903bf13",
        &[
            Number("temperature", 25.0, C),
            Number("humidity", 50.55, PCT),
        ],
    ),
    case(
        "acceleration",
        "40518756",
        &[Number("acceleration", 22.151, Some("m/s²"))],
    ),
    case("battery", "400161", &[Number("battery", 97.0, PCT)]),
    case(
        "co2",
        "4012e204",
        &[Number("carbon_dioxide", 1250.0, Some("ppm"))],
    ),
    case(
        "conductivity",
        "4056e803",
        &[Number("conductivity", 1000.0, Some("µS/cm"))],
    ),
    case("count uint8", "400960", &[Number("count", 96.0, None)]),
    case(
        "count uint16",
        "403d0960",
        &[Number("count", 24585.0, None)],
    ),
    case(
        "count uint32",
        "403e2a2c0960",
        &[Number("count", 1_611_213_866.0, None)],
    ),
    case("count sint8", "4059ea", &[Number("count", -22.0, None)]),
    case(
        "count sint16",
        "405aeaea",
        &[Number("count", -5398.0, None)],
    ),
    case(
        "count sint32",
        "405bea0234ea",
        &[Number("count", -365_690_134.0, None)],
    ),
    case(
        "current",
        "40434e34",
        &[Number("current", 13.39, Some("A"))],
    ),
    case(
        "current signed",
        "405d02ea",
        &[Number("current", -5.63, Some("A"))],
    ),
    case("dew point", "4008ca06", &[Number("dew_point", 17.38, C)]),
    case(
        "distance mm",
        "40400c00",
        &[Number("distance_mm", 12.0, Some("mm"))],
    ),
    case(
        "distance m",
        "40414e00",
        &[Number("distance_m", 7.8, Some("m"))],
    ),
    case(
        "duration",
        "40424e3400",
        &[Number("duration", 13.39, Some("s"))],
    ),
    case(
        "energy uint32",
        "404d12138a14",
        &[Number("energy", 344_593.17, Some("kWh"))],
    ),
    case(
        "energy uint24",
        "400a138a14",
        &[Number("energy", 1346.067, Some("kWh"))],
    ),
    case(
        "gas uint24",
        "404b138a14",
        &[Number("gas", 1346.067, Some("m³"))],
    ),
    case(
        "gas uint32",
        "404c41018a01",
        &[Number("gas", 25821.505, Some("m³"))],
    ),
    case(
        "gyroscope",
        "40528756",
        &[Number("gyroscope", 22.151, Some("°/s"))],
    ),
    case(
        "humidity uint16",
        "4003bf13",
        &[Number("humidity", 50.55, PCT)],
    ),
    case("humidity uint8", "402e23", &[Number("humidity", 35.0, PCT)]),
    case(
        "illuminance",
        "4005138a14",
        &[Number("illuminance", 13460.67, Some("lx"))],
    ),
    case(
        "mass kg",
        "40065e1f",
        &[Number("mass_kg", 80.3, Some("kg"))],
    ),
    case(
        "mass lb",
        "40073e1d",
        &[Number("mass_lb", 74.86, Some("lb"))],
    ),
    case(
        "moisture uint16",
        "4014020c",
        &[Number("moisture", 30.74, PCT)],
    ),
    case("moisture uint8", "402f23", &[Number("moisture", 35.0, PCT)]),
    case("pm2.5", "400d120c", &[Number("pm25", 3090.0, UGM3)]),
    case("pm10", "400e021c", &[Number("pm10", 7170.0, UGM3)]),
    case(
        "power uint24",
        "400b021b00",
        &[Number("power", 69.14, Some("W"))],
    ),
    case(
        "power sint32",
        "405c02fbffff",
        &[Number("power", -12.78, Some("W"))],
    ),
    case(
        "pressure",
        "4004138a01",
        &[Number("pressure", 1008.83, Some("hPa"))],
    ),
    case(
        "raw",
        "40540c48656c6c6f20576f726c6421",
        &[Text("raw", "48656c6c6f20576f726c6421")],
    ),
    case(
        "rotation",
        "403f020c",
        &[Number("rotation", 307.4, Some("°"))],
    ),
    case("speed", "40444e34", &[Number("speed", 133.9, Some("m/s"))]),
    // The signed 4-byte objects, with the frames of bthome-ble's tests
    // (test_bthome_speed_signed, test_bthome_acceleration_signed).
    case(
        "speed signed",
        "40624099dfff",
        &[Number("speed", -2.123456, Some("m/s"))],
    ),
    case(
        "acceleration signed",
        "40630057d0ff",
        &[Number("acceleration", -3.123456, Some("m/s²"))],
    ),
    case(
        "temperature sint8",
        "4057ea",
        &[Number("temperature", -22.0, C)],
    ),
    case(
        "temperature sint8 0.35",
        "4058ea",
        &[Number("temperature", -7.7, C)],
    ),
    case(
        "temperature 0.1",
        "40451101",
        &[Number("temperature", 27.3, C)],
    ),
    case(
        "temperature 0.01",
        "4002ca09",
        &[Number("temperature", 25.06, C)],
    ),
    case(
        "text",
        "40530c48656c6c6f20576f726c6421",
        &[Text("text", "Hello World!")],
    ),
    // Text is UTF-8 (spec): bytes that are not give no reading, never U+FFFD, and the length
    // byte still frames the objects after them. Raw (0x54) is bytes whatever they are.
    case(
        "text of multi-byte characters",
        "4053 05 c3a9e282ac",
        &[Text("text", "é€")],
    ),
    case(
        "text not UTF-8, then a temperature",
        "4053 02 c328 02ca09",
        &[Number("temperature", 25.06, C)],
    ),
    case(
        "a temperature, then text not UTF-8",
        "4002ca09 5301 87",
        &[Number("temperature", 25.06, C)],
    ),
    case(
        "raw that is not UTF-8 stays bytes",
        "4054 03 87ffc3 5301 87",
        &[Text("raw", "87ffc3")],
    ),
    case(
        "timestamp",
        "40505d396164",
        &[Number("timestamp", 1_684_093_277.0, None)],
    ),
    case(
        "tvoc",
        "40133301",
        &[Number("volatile_organic_compounds", 307.0, UGM3)],
    ),
    case(
        "voltage 0.001",
        "400c020c",
        &[Number("voltage", 3.074, Some("V"))],
    ),
    case(
        "voltage 0.1",
        "404a020c",
        &[Number("voltage", 307.4, Some("V"))],
    ),
    case(
        "volume uint32",
        "404e87562a01",
        &[Number("volume", 19551.879, Some("L"))],
    ),
    case(
        "volume uint16",
        "40478756",
        &[Number("volume", 2215.1, Some("L"))],
    ),
    case(
        "volume mL",
        "4048dc87",
        &[Number("volume_ml", 34780.0, Some("mL"))],
    ),
    case(
        "volume storage",
        "405587562a01",
        &[Number("volume_storage", 19551.879, Some("L"))],
    ),
    case(
        "volume flow rate",
        "4049dc87",
        &[Number("volume_flow_rate", 34.78, Some("m³/h"))],
    ),
    case("uv index", "404632", &[Number("uv_index", 5.0, None)]),
    case(
        "water",
        "404f87562a01",
        &[Number("water", 19551.879, Some("L"))],
    ),
    case(
        "direction",
        "405e9f8c",
        &[Number("direction", 359.99, Some("°"))],
    ),
    case(
        "precipitation",
        "405fa00f",
        &[Number("precipitation", 400.0, Some("mm"))],
    ),
    case("binary battery low", "401501", &[Bool("battery_low", true)]),
    case(
        "binary battery charging",
        "401601",
        &[Bool("battery_charging", true)],
    ),
    case(
        "binary carbon monoxide",
        "401700",
        &[Bool("carbon_monoxide", false)],
    ),
    case("binary cold", "401801", &[Bool("cold", true)]),
    case(
        "binary connectivity",
        "401900",
        &[Bool("connectivity", false)],
    ),
    case("binary door", "401a00", &[Bool("door", false)]),
    case("binary garage door", "401b01", &[Bool("garage_door", true)]),
    case("binary gas", "401c01", &[Bool("gas", true)]),
    case("binary generic", "400f01", &[Bool("generic_boolean", true)]),
    case("binary heat", "401d00", &[Bool("heat", false)]),
    case("binary light", "401e01", &[Bool("light", true)]),
    case("binary lock", "401f01", &[Bool("lock", true)]),
    case("binary moisture", "402001", &[Bool("moisture", true)]),
    case("binary motion", "402100", &[Bool("motion", false)]),
    case("binary moving", "402201", &[Bool("moving", true)]),
    case("binary occupancy", "402301", &[Bool("occupancy", true)]),
    case("binary opening", "401100", &[Bool("opening", false)]),
    case("binary plug", "402400", &[Bool("plug", false)]),
    case("binary power", "401001", &[Bool("power", true)]),
    case("binary presence", "402500", &[Bool("presence", false)]),
    case("binary problem", "402601", &[Bool("problem", true)]),
    case("binary running", "402701", &[Bool("running", true)]),
    case("binary safety", "402800", &[Bool("safety", false)]),
    case("binary smoke", "402901", &[Bool("smoke", true)]),
    case("binary sound", "402a00", &[Bool("sound", false)]),
    case("binary tamper", "402b00", &[Bool("tamper", false)]),
    case("binary vibration", "402c01", &[Bool("vibration", true)]),
    case("binary window", "402d01", &[Bool("window", true)]),
    case("button press", "403a01", &[Event("button", "press")]),
    case(
        "button double press",
        "403a02",
        &[Event("button", "double_press")],
    ),
    case(
        "button triple press",
        "403a03",
        &[Event("button", "triple_press")],
    ),
    case(
        "button long press",
        "403a04",
        &[Event("button", "long_press")],
    ),
    case(
        "button long double press",
        "403a05",
        &[Event("button", "long_double_press")],
    ),
    case(
        "button long triple press",
        "403a06",
        &[Event("button", "long_triple_press")],
    ),
    case(
        "button hold press",
        "403a80",
        &[Event("button", "hold_press")],
    ),
    case(
        "button none then press",
        "403a003a01",
        &[Event("button", "press")],
    ),
    case("dimmer left 3", "403c0103", &[Dimmer("rotate_left", 3)]),
    case("dimmer right 10", "403c020a", &[Dimmer("rotate_right", 10)]),
    // "dimmer none" (403c0000) says nothing at all: an error since the frame carries no value,
    // see spec_vectors.rs `each_malformed_input_names_its_problem`.
    case(
        "dimmer none after a press",
        "403a013c0000",
        &[Event("button", "press")],
    ),
    case("device type id", "40f00100", &[]),
    case("firmware 4 bytes", "40f100010204", &[]),
    case("firmware 3 bytes", "40f2000106", &[]),
    case("packet id only", "400009", &[]),
    case(
        "several objects in one payload",
        "4000090161 02ca09 03bf13 0c020c 2d01",
        &[
            Number("battery", 97.0, PCT),
            Number("temperature", 25.06, C),
            Number("humidity", 50.55, PCT),
            Number("voltage", 3.074, Some("V")),
            Bool("window", true),
        ],
    ),
    case(
        "repeated object keeps order and name",
        "4002ca0902cf0903bf13",
        &[
            Number("temperature", 25.06, C),
            Number("temperature", 25.11, C),
            Number("humidity", 50.55, PCT),
        ],
    ),
    case(
        "unknown object ends the payload",
        "4002ca09ff0161",
        &[Number("temperature", 25.06, C)],
    ),
    case(
        "trigger-based flag",
        "4402ca09",
        &[Number("temperature", 25.06, C)],
    ),
    case(
        "embedded MAC",
        "42b2188d38c1a402ca09",
        &[Number("temperature", 25.06, C)],
    ),
];

/// RuuviTag manufacturer data after the company id: the specification's test vectors.
pub const RUUVI: &[Case] = &[
    case(
        "format 5 valid",
        "0512fc5394c37c0004fffc040cac364200cdcbb8334c884f",
        &[
            Number("temperature", 24.3, C),
            Number("humidity", 53.49, PCT),
            Number("pressure", 1000.44, Some("hPa")),
            Number("acceleration_x", 4.0, MG),
            Number("acceleration_y", -4.0, MG),
            Number("acceleration_z", 1036.0, MG),
            Number("voltage", 2.977, Some("V")),
            Number("tx_power", 4.0, Some("dBm")),
            Number("movement_counter", 66.0, None),
            Number("measurement_sequence", 205.0, None),
        ],
    ),
    case(
        "format 5 maximum",
        "057fff9c40fffe7fff7fff7fffffdefefffecbb8334c884f",
        &[
            Number("temperature", 163.835, C),
            Number("humidity", 100.0, PCT),
            Number("pressure", 1155.34, Some("hPa")),
            Number("acceleration_x", 32767.0, MG),
            Number("acceleration_y", 32767.0, MG),
            Number("acceleration_z", 32767.0, MG),
            Number("voltage", 3.646, Some("V")),
            Number("tx_power", 20.0, Some("dBm")),
            Number("movement_counter", 254.0, None),
            Number("measurement_sequence", 65534.0, None),
        ],
    ),
    case(
        "format 5 minimum",
        "058001000000008001800180010000000000cbb8334c884f",
        &[
            Number("temperature", -163.835, C),
            Number("humidity", 0.0, PCT),
            Number("pressure", 500.0, Some("hPa")),
            Number("acceleration_x", -32767.0, MG),
            Number("acceleration_y", -32767.0, MG),
            Number("acceleration_z", -32767.0, MG),
            Number("voltage", 1.6, Some("V")),
            Number("tx_power", -40.0, Some("dBm")),
            Number("movement_counter", 0.0, None),
            Number("measurement_sequence", 0.0, None),
        ],
    ),
    case(
        "format 5 all not available",
        "058000ffffffff800080008000ffffffffffffffffffffff",
        &[],
    ),
    case(
        "format 3 valid",
        "03291a1ece1efc18f94202ca0b53",
        &[
            Number("temperature", 26.3, C),
            Number("humidity", 20.5, PCT),
            Number("pressure", 1027.66, Some("hPa")),
            Number("acceleration_x", -1000.0, MG),
            Number("acceleration_y", -1726.0, MG),
            Number("acceleration_z", 714.0, MG),
            Number("voltage", 2.899, Some("V")),
        ],
    ),
    case(
        "format 3 maximum",
        "03ff7f63ffff7fff7fff7fffffff",
        &[
            Number("temperature", 127.99, C),
            Number("humidity", 127.5, PCT),
            Number("pressure", 1155.35, Some("hPa")),
            Number("acceleration_x", 32767.0, MG),
            Number("acceleration_y", 32767.0, MG),
            Number("acceleration_z", 32767.0, MG),
            Number("voltage", 65.535, Some("V")),
        ],
    ),
    case(
        "format 3 minimum",
        "0300ff6300008001800180010000",
        &[
            Number("temperature", -127.99, C),
            Number("humidity", 0.0, PCT),
            Number("pressure", 500.0, Some("hPa")),
            Number("acceleration_x", -32767.0, MG),
            Number("acceleration_y", -32767.0, MG),
            Number("acceleration_z", -32767.0, MG),
            Number("voltage", 0.0, Some("V")),
        ],
    ),
];

/// GATT characteristic values built from the GATT Specification Supplement field layouts.
pub const GATT: &[Case] = &[
    gatt(
        "heart rate uint16, contact, energy and two RR intervals",
        0x2a37,
        "1fa0002301000400020000",
        &[
            Number("heart_rate", 160.0, Some("bpm")),
            Bool("sensor_contact", true),
            Number("energy_expended", 291.0, Some("kJ")),
            Number("rr_interval", 1.0, Some("s")),
            Number("rr_interval", 0.5, Some("s")),
            Number("rr_interval", 0.0, Some("s")),
        ],
    ),
    gatt(
        "heart rate uint8, contact lost",
        0x2a37,
        "0448",
        &[
            Number("heart_rate", 72.0, Some("bpm")),
            Bool("sensor_contact", false),
        ],
    ),
    gatt(
        "heart rate uint16",
        0x2a37,
        "012c01",
        &[Number("heart_rate", 300.0, Some("bpm"))],
    ),
    gatt(
        "thermometer with time stamp and type",
        0x2a1c,
        "066c0100ffe807021d0c1e2d03",
        &[
            Number("temperature", 36.4, C),
            Number("timestamp", 1_709_209_845.0, None),
            Text("temperature_type", "ear"),
        ],
    ),
    gatt(
        "thermometer fahrenheit",
        0x2a1c,
        "01dc0300ff",
        &[Number("temperature", 98.8, Some("°F"))],
    ),
    gatt(
        "thermometer NaN, unknown date, reserved type",
        0x2a1c,
        "06ffff7f000000000000000000",
        &[],
    ),
    gatt(
        "battery level",
        0x2a19,
        "55",
        &[Number("battery", 85.0, PCT)],
    ),
    gatt(
        "temperature",
        0x2a6e,
        "9cff",
        &[Number("temperature", -1.0, C)],
    ),
    gatt("temperature not known", 0x2a6e, "0080", &[]),
    gatt(
        "humidity",
        0x2a6f,
        "6c13",
        &[Number("humidity", 49.72, PCT)],
    ),
    gatt("humidity not known", 0x2a6f, "ffff", &[]),
    gatt(
        "pressure",
        0x2a6d,
        "02760f00",
        &[Number("pressure", 101_325.0, Some("Pa"))],
    ),
];
